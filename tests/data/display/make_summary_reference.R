# Reference values for the summary tests: what lme4's summary() shows beyond the fit itself.
# Usage (from this folder): Rscript make_summary_reference.R
# Each model is evaluated (not re-optimized) at the theta of its reference fit
# (../reference/fits or ../reference_core/fits), so the values belong to the same optimum.
# Writes summary_reference.json: per model, the scaled (Pearson) residual quantiles,
# the correlation of the fixed effects, df.resid, and lme4's printed summary as text.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})

panel <- read.csv("../reference/models.csv", stringsAsFactors = FALSE)
core <- read.csv("../reference_core/models.csv", stringsAsFactors = FALSE)
wanted <- list(
  list(src = "panel", id = "alien_reml"), list(src = "panel", id = "pastes_reml"),
  list(src = "panel", id = "crossed_ml"), list(src = "panel", id = "sleep_zerocorr_reml"),
  list(src = "panel", id = "cat_x_cat_reml"),
  list(src = "core", id = "sleep_weights_reml"), list(src = "core", id = "sleep_offset_ml"),
  list(src = "core", id = "penicillin_ml")
)

model_at_reference <- function(w) {
  if (w$src == "panel") {
    s <- panel[panel$id == w$id, ]
    d <- read.csv(file.path("../../../src/mixed_models/datasets/data", paste0(s$dataset, ".csv")),
                  stringsAsFactors = TRUE)
    for (v in strsplit(s$factors, ";")[[1]]) if (!is.na(v) && v != "") d[[v]] <- factor(d[[v]])
    ref <- fromJSON(file.path("../reference/fits", paste0(w$id, ".json")))
    f <- as.formula(s$formula); ref_weights <- NULL; ref_offset <- NULL
  } else {
    s <- core[core$id == w$id, ]
    d <- read.csv(file.path("../reference_core/data", paste0(s$dataset, ".csv")),
                  stringsAsFactors = TRUE)
    ref <- fromJSON(file.path("../reference_core/fits", paste0(w$id, ".json")))
    f <- as.formula(s$r_formula); ref_weights <- NULL; ref_offset <- NULL
    if (!is.na(s$weights) && s$weights != "") ref_weights <- d[[s$weights]]
    if (!is.na(s$offset) && s$offset != "") ref_offset <- d[[s$offset]]
  }
  lmer(f, data = d, REML = as.logical(s$REML), weights = ref_weights, offset = ref_offset,
       start = list(theta = ref$theta), control = lmerControl(optimizer = NULL))
}

out <- list()
for (w in wanted) {
  m <- model_at_reference(w)
  r <- residuals(m, type = "pearson", scaled = TRUE)
  corr <- cov2cor(as.matrix(vcov(m)))
  out[[w$id]] <- list(
    scaled_residual_quantiles = unname(quantile(r)),
    fixed_effects_corr = unname(corr),
    df_residual = df.residual(m),
    printed = paste(capture.output(print(summary(m), correlation = TRUE)), collapse = "\n")
  )
}
out$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "summary_reference.json")
