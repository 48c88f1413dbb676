# broom.mixed's tidy() and glance() of glmer fits, and lme4's derivatives at the end point
# (m@optinfo$derivs), for tests/inference/test_tidy_glmm.py and tests/test_glmm_api.py.
# Run from this folder: Rscript make_tidy_reference.R  (R 4.2.2, lme4 1.1-31,
# broom.mixed 0.2.9.4; the data are the GLMM panel's copies in ../reference_glmm/data).
suppressMessages({library(lme4); library(broom.mixed); library(jsonlite)})
data_dir <- "../reference_glmm/data"
cbpp <- read.csv(file.path(data_dir, "cbpp.csv"))
cbpp$herd <- factor(cbpp$herd); cbpp$period <- factor(cbpp$period)
sleep <- read.csv(file.path(data_dir, "sleepstudy.csv"))
fits <- list(
  cbpp_binomial = glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp,
                        family = binomial),
  sleepstudy_gamma = glmer(Reaction ~ Days + (Days | Subject), sleep,
                           family = Gamma(link = "log")))
out <- lapply(fits, function(m) {
  t <- as.data.frame(tidy(m, conf.int = TRUE))
  d <- m@optinfo$derivs
  list(tidy = t, glance = as.data.frame(glance(m)),
       derivs = list(gradient = d$gradient, hessian = d$Hessian,
                     par = c(getME(m, "theta"), fixef(m))))
})
writeLines(toJSON(out, digits = NA, na = "null", pretty = TRUE), "tidy_glance.json")

# lme4's likelihood-ratio test of a random intercept (anova of the nested glmer fits),
# for GLMM.ran_ef_p and drop_ran_ef
grouse <- read.csv(file.path(data_dir, "grouseticks_scaled.csv"))
for (v in c("YEAR", "BROOD", "INDEX", "LOCATION")) grouse[[v]] <- factor(grouse[[v]])
full <- glmer(TICKS ~ YEAR + sHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION), grouse,
              family = poisson)
reduced <- glmer(TICKS ~ YEAR + sHEIGHT + (1 | BROOD) + (1 | INDEX), grouse, family = poisson)
test <- anova(reduced, full)
writeLines(toJSON(list(deviance_full = -2 * as.numeric(logLik(full)),
                       deviance_reduced = -2 * as.numeric(logLik(reduced)),
                       chisq = test$Chisq[2], df = test$Df[2], p_value = test[["Pr(>Chisq)"]][2]),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), "grouseticks_lrt.json")
