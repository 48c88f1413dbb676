# Reference values of emmeans (link and response scale), contrasts and performance's
# r2_nakagawa / icc for two GLMMs fitted by lme4's glmer.
#
# Usage, from the repository root:
#   LC_ALL=C Rscript tests/data/reference_glmm_ecosystem/make_glmm_ecosystem_reference.R
suppressPackageStartupMessages({
  library(lme4); library(emmeans); library(performance); library(jsonlite)
})
out_dir <- "tests/data/reference_glmm_ecosystem"
data_dir <- "tests/data/reference_glmm/data"
emm_options(opt.digits = FALSE)

num <- function(df) lapply(as.list(as.data.frame(df)), function(v) if (is.factor(v)) as.character(v) else v)

polish <- function(m) {
  # refit from the optimum with a tight tolerance so the reference is lme4's optimum
  update(m, start = getME(m, c("theta", "fixef")),
         control = glmerControl(optimizer = "nloptwrap",
                                optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12,
                                               ftol_rel = 1e-14, maxeval = 1e5)))
}

summaries <- function(em) {
  list(emmeans_link = num(summary(em, infer = TRUE)),
       emmeans_response = num(summary(em, type = "response", infer = TRUE)),
       pairwise_tukey = num(summary(contrast(em, "pairwise", adjust = "tukey"), infer = TRUE)),
       pairwise_none = num(summary(contrast(em, "pairwise", adjust = "none"), infer = TRUE)),
       pairwise_ratio_bonferroni = num(summary(contrast(em, "pairwise", adjust = "bonferroni"),
                                               type = "response", infer = TRUE)),
       pairwise_ratio_tukey = num(summary(contrast(em, "pairwise", adjust = "tukey"),
                                          type = "response", infer = TRUE)),
       trt_vs_ctrl_dunnettx = num(summary(contrast(em, "trt.vs.ctrl", adjust = "dunnettx"), infer = TRUE)),
       pairwise_mvt = num(summary(contrast(em, "pairwise", adjust = "mvt"), infer = TRUE)))
}

# emmeans over this library's beta and Wald covariance (written by write_inputs.py):
# checks emmeans' formulas at the same estimates, to 1e-6.
at_inputs <- function(m, spec, name) {
  inputs <- fromJSON(file.path(out_dir, paste0(name, "_inputs.json")))
  rg <- ref_grid(m)
  rg@bhat <- inputs$beta
  rg@V <- inputs$vcov
  set.seed(1)
  summaries(emmeans(rg, spec))
}

one <- function(m, spec, name) {
  em <- emmeans(m, spec)
  r2 <- r2_nakagawa(m, tolerance = 0)
  ic <- icc(m, tolerance = 0)
  vars <- insight::get_variance(m, tolerance = 0)
  set.seed(1)
  res <- c(list(
    formula = paste(deparse(formula(m)), collapse = ""), family = family(m)$family,
    deviance = deviance(m), fixef = unname(fixef(m)), theta = unname(getME(m, "theta"))),
    summaries(em),
    list(at_inputs = at_inputs(m, spec, name),
    r2 = list(conditional = unname(r2$R2_conditional), marginal = unname(r2$R2_marginal)),
    icc = list(adjusted = unname(ic$ICC_adjusted), unadjusted = unname(ic$ICC_unadjusted)),
    variances = list(fixed = vars$var.fixed, random = vars$var.random,
                     distribution = vars$var.distribution, residual = vars$var.residual),
    versions = lapply(c(R = "base", lme4 = "lme4", emmeans = "emmeans", performance = "performance",
                        insight = "insight"), function(p) as.character(packageVersion(p)))))
  writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE),
             file.path(out_dir, paste0(name, ".json")))
}

cbpp <- read.csv(file.path(data_dir, "cbpp.csv"), colClasses = c(herd = "factor", period = "factor"))
m1 <- polish(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial))
one(m1, "period", "cbpp_binomial")

gt <- read.csv(file.path(data_dir, "grouseticks_scaled.csv"),
               colClasses = c(YEAR = "factor", BROOD = "factor"))
m2 <- polish(glmer(TICKS ~ YEAR + (1 | BROOD), gt, poisson))
one(m2, "YEAR", "grouseticks_poisson")
