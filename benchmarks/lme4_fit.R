# Fit one benchmark case with lme4 and print a JSON line (called by benchmarks/run.py).
# Args: case_id csv_path formula REML(TRUE/FALSE) factors(comma-separated) repeats
# The data are read before the clock starts; each timed call is lmer() with its defaults.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
case_id <- args[1]; path <- args[2]; form <- as.formula(args[3])
reml <- as.logical(args[4]); factors <- strsplit(args[5], ",")[[1]]; repeats <- as.integer(args[6])
d <- read.csv(path, stringsAsFactors = TRUE)
for (f in factors) if (nzchar(f)) d[[f]] <- factor(d[[f]])
fit <- function() lmer(form, d, REML = reml)
if (repeats > 1) invisible(fit())
times <- numeric(repeats)
for (i in seq_len(repeats)) {
  times[i] <- system.time(m <- fit())[["elapsed"]]
}
cat(toJSON(list(package = "lme4", case = case_id, seconds = median(times),
                objective = if (reml) unname(getME(m, "devcomp")$cmp[["REML"]]) else deviance(m),
                evaluations = m@optinfo$feval,
                version = as.character(packageVersion("lme4"))),
           auto_unbox = TRUE, digits = NA), "\n")
