# car::Anova(type = 3) of glmer fits: the reference of GLMM.anova()'s Wald chi-square tests
suppressMessages({library(lme4); library(car); library(jsonlite); library(numDeriv)})
here <- "tests/data/reference_glmm/data"
cbpp_ <- read.csv(file.path(here, "cbpp.csv")); cbpp_$period <- factor(cbpp_$period); cbpp_$herd <- factor(cbpp_$herd)
gt <- read.csv(file.path(here, "grouseticks_scaled.csv"))
gt$YEAR <- factor(gt$YEAR); gt$BROOD <- factor(gt$BROOD)
# lme4's own vcov of a glmer fit comes from a finite-difference Hessian that PIRLS error
# biases (SEs off by up to 2%): the Wald covariance here is from a Richardson-extrapolated
# Hessian (numDeriv) of the deviance over (theta, beta) with PIRLS converged tightly
accurate_vcov <- function(m) {
  dd <- update(m, devFunOnly = TRUE, control = glmerControl(tolPwrss = 1e-10))
  theta <- getME(m, "theta"); beta <- fixef(m)
  H <- numDeriv::hessian(function(p) dd(p), c(theta, beta))
  k <- length(theta); idx <- k + seq_along(beta)
  V <- 2 * solve(H)[idx, idx]
  dimnames(V) <- list(names(beta), names(beta))
  V
}
anova3 <- function(m) Anova(m, type = 3, vcov. = accurate_vcov(m))
tab <- function(a) { a <- as.data.frame(a); a <- a[rownames(a) != "(Intercept)", , drop = FALSE]
  list(term = rownames(a), Chisq = unname(a$Chisq), df = unname(a$Df), p_value = unname(a[["Pr(>Chisq)"]])) }
ctl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))
out <- list()
m1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp_, family = binomial, control = ctl)
out$cbpp_period <- c(list(formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)", data = "cbpp", family = "binomial"), tab(anova3(m1)))
m2 <- glmer(TICKS ~ YEAR + sHEIGHT + (1 | BROOD), data = gt, family = poisson, control = ctl)
out$grouseticks_main <- c(list(formula = "TICKS ~ YEAR + sHEIGHT + (1 | BROOD)", data = "grouseticks_scaled", family = "poisson"), tab(anova3(m2)))
# an interaction: type III hypotheses that do not depend on the coding, as car gives them
# under sum-to-zero contrasts (our fits use treatment coding)
op <- options(contrasts = c("contr.sum", "contr.poly"))
m3 <- glmer(TICKS ~ YEAR * sHEIGHT + (1 | BROOD), data = gt, family = poisson, control = ctl)
out$grouseticks_interaction <- c(list(formula = "TICKS ~ YEAR * sHEIGHT + (1 | BROOD)", data = "grouseticks_scaled", family = "poisson"), tab(anova3(m3)))
options(op)
out$cbpp_se_accurate <- sqrt(diag(accurate_vcov(m1)))
out$versions <- list(lme4 = as.character(packageVersion("lme4")), car = as.character(packageVersion("car")),
                     numDeriv = as.character(packageVersion("numDeriv")), R = R.version.string)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/data/reference_glmm_tidy/glmm_anova.json")
