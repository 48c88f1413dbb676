# Start-up costs of lme4 in this fresh R process (called by benchmarks/startup.py).
# Args: "import", or "first_fit" csv_path formula REML(TRUE/FALSE).
# import: prints the seconds of library(lme4). first_fit: reads the data before the clock,
# then times library(lme4) and one lmer() fit, and prints a JSON line.
args <- commandArgs(trailingOnly = TRUE)
quiet_library <- function() suppressPackageStartupMessages(library(lme4))
if (args[1] == "import") {
  cat(system.time(quiet_library())[["elapsed"]], "\n")
} else {
  d <- read.csv(args[2], stringsAsFactors = TRUE)
  reml <- as.logical(args[4])
  start <- proc.time()[["elapsed"]]
  quiet_library()
  imported <- proc.time()[["elapsed"]]
  m <- lmer(as.formula(args[3]), d, REML = reml)
  end <- proc.time()[["elapsed"]]
  objective <- if (reml) unname(getME(m, "devcomp")$cmp[["REML"]]) else deviance(m)
  cat(sprintf('{"seconds": %.4f, "import_seconds": %.4f, "objective": %.10f}\n',
              end - start, imported - start, objective))
}
