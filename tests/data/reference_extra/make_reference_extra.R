# Reference values for the inference tests on models the lme4 panel does not hold.
# Usage (from this folder): Rscript make_reference_extra.R
# Needs R with lme4, lmerTest, pbkrtest, jsonlite. Reads the data CSVs named in
# models.csv and lrt_pairs.csv (paths relative to this folder); writes fits/ID.json and
# lrt.json. Each model is fitted at the best optimum that bobyqa, Nelder-Mead and
# nloptwrap reach, polished by nlminb on lme4's own deviance function.
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(jsonlite)})
dir.create("fits", showWarnings = FALSE)

read_data <- function(path) {
  d <- read.csv(path, stringsAsFactors = TRUE)
  # grouping columns written as numbers are factors in R's data sets
  for (v in c("Worker", "Subject", "Block", "gr")) if (v %in% names(d)) d[[v]] <- factor(d[[v]])
  d
}

best_fit <- function(formula, data, REML) {
  fits <- list()
  for (opt in c("bobyqa", "Nelder_Mead", "nloptwrap")) {
    ctrl <- lmerControl(optimizer = opt, optCtrl = list(maxfun = 1e5), calc.derivs = FALSE)
    f <- try(suppressWarnings(suppressMessages(
      lme4::lmer(formula, data = data, REML = REML, control = ctrl))), silent = TRUE)
    if (!inherits(f, "try-error")) fits[[opt]] <- f
  }
  crit <- sapply(fits, function(f) if (REML) REMLcrit(f) else deviance(f))
  best <- fits[[which.min(crit)]]
  dfun <- update(best, devFunOnly = TRUE)
  pol <- nlminb(getME(best, "theta"), dfun, lower = getME(best, "lower"),
                control = list(eval.max = 1e4, iter.max = 1e4, rel.tol = 1e-14))
  start <- if (pol$objective < min(crit)) pol$par else getME(best, "theta")
  # refit from the best point with bobyqa so that profile() has an optimizer to use;
  # do.call puts the formula and data into the call, for lmerTest's update()
  do.call(lme4::lmer, list(formula = formula, data = data, REML = REML,
                           start = list(theta = start),
                           control = lmerControl(optimizer = "bobyqa",
                                                 optCtrl = list(maxfun = 1e5))))
}

anova_list <- function(a) list(terms = rownames(a), F = unname(a[["F value"]]),
                               numdf = unname(a[["NumDF"]]), dendf = unname(a[["DenDF"]]),
                               p = unname(a[["Pr(>F)"]]))

spec <- read.csv("models.csv", stringsAsFactors = FALSE)
for (i in seq_len(nrow(spec))) {
  s <- spec[i, ]
  cat("fitting", s$id, "\n")
  d <- read_data(s$data)
  reml <- as.logical(s$REML)
  extras <- strsplit(s$extras, ";")[[1]]
  m <- best_fit(as.formula(s$formula), d, reml)
  lt <- lmerTest::as_lmerModLmerTest(m)
  sat <- summary(lt, ddf = "Satterthwaite")$coefficients
  rec <- list(
    id = s$id, formula = s$formula, REML = reml,
    objective = if (reml) REMLcrit(m) else deviance(m), theta = unname(getME(m, "theta")),
    versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                    lmerTest = as.character(packageVersion("lmerTest")),
                    pbkrtest = as.character(packageVersion("pbkrtest"))),
    beta_names = names(fixef(m)), beta = unname(fixef(m)),
    se = unname(sqrt(diag(as.matrix(vcov(m))))),
    satterthwaite = list(df = unname(sat[, "df"]), t = unname(sat[, "t value"]),
                         p = unname(sat[, "Pr(>|t|)"])),
    wald_ci = unname(confint(m, method = "Wald", parm = "beta_")))
  if ("kr" %in% extras) {
    kr <- summary(lt, ddf = "Kenward-Roger")$coefficients
    rec$kenward_roger <- list(df = unname(kr[, "df"]), se = unname(kr[, "Std. Error"]),
                              p = unname(kr[, "Pr(>|t|)"]))
  }
  if ("anova" %in% extras) {
    rec$anova_type3 <- anova_list(anova(lt, type = 3, ddf = "Satterthwaite"))
    if (reml) rec$anova_type3_kr <- anova_list(anova(lt, type = 3, ddf = "Kenward-Roger"))
  }
  if ("profile" %in% extras) {
    # profile lme4's default fit when it reaches the best optimum: profiles started from
    # the polished fit sometimes fail (orthodont_reml's sigma had no upper limit)
    m_default <- do.call(lme4::lmer, list(formula = as.formula(s$formula), data = d, REML = reml))
    crit <- function(f) if (reml) REMLcrit(f) else deviance(f)
    mp <- if (crit(m_default) - crit(m) < 1e-6) m_default else m
    ci <- tryCatch(confint(mp, method = "profile", oldNames = FALSE),
                   error = function(e) { message(s$id, ": profile failed: ", conditionMessage(e)); NULL })
    if (!is.null(ci)) rec$profile_ci <- list(names = rownames(ci), lower = unname(ci[, 1]),
                                             upper = unname(ci[, 2]))
  }
  writeLines(toJSON(rec, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
             file.path("fits", paste0(s$id, ".json")))
}

pairs <- read.csv("lrt_pairs.csv", stringsAsFactors = FALSE)
lrt <- lapply(seq_len(nrow(pairs)), function(i) {
  s <- pairs[i, ]
  cat("comparing", s$id, "\n")
  d <- read_data(s$data)
  reml <- as.logical(s$REML)
  m0 <- best_fit(as.formula(s$null_formula), d, reml)
  m1 <- best_fit(as.formula(s$alt_formula), d, reml)
  # anova() refits REML fits by ML from their REML optimum; polish those ML fits too
  if (reml) { m0 <- best_fit(as.formula(s$null_formula), d, FALSE)
              m1 <- best_fit(as.formula(s$alt_formula), d, FALSE) }
  a <- suppressMessages(anova(m0, m1))
  list(id = s$id, chisq = a$Chisq[2], df = a$Df[2], p = a[["Pr(>Chisq)"]][2],
       deviance = unname(a$deviance), npar = unname(a$npar))
})
writeLines(toJSON(lrt, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "lrt.json")
