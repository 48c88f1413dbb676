# Time lme4's parametric bootstrap (bootMer) of one LMM case and print a JSON line
# (called by run.py). Args: case_id csv_path formula REML(TRUE/FALSE) nsim processes
# The model is fitted before the clock starts; the timed call is bootMer() collecting the
# fixed effects, theta and sigma, with forked worker processes ("multicore").
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
case_id <- args[1]; d <- read.csv(args[2], stringsAsFactors = TRUE)
m <- lmer(as.formula(args[3]), d, REML = as.logical(args[4]))
nsim <- as.integer(args[5]); processes <- as.integer(args[6])
collect <- function(x) c(fixef(x), getME(x, "theta"), sigma = sigma(x))
seconds <- system.time(
  b <- bootMer(m, collect, nsim = nsim, seed = 1, parallel = "multicore", ncpus = processes)
)[["elapsed"]]
slope <- b$t[, 2]
ok <- is.finite(slope)
cat(toJSON(list(package = "lme4", case = case_id, seconds = seconds, replicates = nsim,
                failed = sum(!ok), check = list("sd of the slope" = round(sd(slope[ok]), 4)),
                version = as.character(packageVersion("lme4"))),
           auto_unbox = TRUE, digits = NA), "\n")
