# Fit one GLMM benchmark case with lme4's glmer and print a JSON line (called by run.py).
# Args: case_id csv_path formula family factors(comma-separated) repeats
# The data are read before the clock starts; each timed call is glmer() with its defaults
# (Laplace). The objective is -2 log-likelihood, -2 * logLik(m).
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
case_id <- args[1]; path <- args[2]; form <- as.formula(args[3])
family <- get(args[4], mode = "function")(); factors <- strsplit(args[5], ",")[[1]]
repeats <- as.integer(args[6])
d <- read.csv(path, stringsAsFactors = TRUE)
for (f in factors) if (nzchar(f)) d[[f]] <- factor(d[[f]])
fit <- function() glmer(form, d, family = family)
if (repeats > 1) invisible(fit())
times <- numeric(repeats)
for (i in seq_len(repeats)) {
  times[i] <- system.time(m <- fit())[["elapsed"]]
}
cat(toJSON(list(package = "lme4", case = case_id, seconds = median(times),
                objective = -2 * as.numeric(logLik(m)),
                evaluations = m@optinfo$feval,
                version = as.character(packageVersion("lme4"))),
           auto_unbox = TRUE, digits = NA), "\n")
