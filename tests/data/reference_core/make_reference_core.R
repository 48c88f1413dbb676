# Reference fits for the core tests on models the reference panel does not hold.
# Usage (from this folder): Rscript make_reference_core.R
# Needs R with lme4, nlme (recommended package), jsonlite. Writes data/*.csv and fits/*.json.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
dir.create("data", showWarnings = FALSE); dir.create("fits", showWarnings = FALSE)

datasets <- list(
  orthodont = as.data.frame(nlme::Orthodont),
  machines = as.data.frame(nlme::Machines),
  ergostool = as.data.frame(nlme::ergoStool),
  oats = as.data.frame(nlme::Oats),
  cbpp = transform(lme4::cbpp, prop = incidence / size),
  sleepstudy = transform(lme4::sleepstudy, off = 2 * Days, w = 1 + (seq_along(Days) %% 3)),
  dyestuff = lme4::Dyestuff,
  chickweight = as.data.frame(datasets::ChickWeight),
  verbagg = transform(lme4::VerbAgg, r2num = as.numeric(r2 == "Y"))[, c("r2num", "Anger", "Gender", "btype", "id", "item")],
  penicillin = lme4::Penicillin
)
# factors are written as text; ordered factors lose their order (we fit treatment contrasts)
for (nm in names(datasets)) {
  d <- datasets[[nm]]
  for (v in names(d)) if (is.factor(d[[v]])) d[[v]] <- factor(as.character(d[[v]]))
  datasets[[nm]] <- d
  write.csv(d, file.path("data", paste0(nm, ".csv")), row.names = FALSE)
}

best_fit <- function(formula, data, REML, weights, offset) {
  args <- list(formula = as.formula(formula), data = data, REML = REML)
  if (!is.na(weights) && weights != "") args$weights <- data[[weights]]
  if (!is.na(offset) && offset != "") args$offset <- data[[offset]]
  fits <- list()
  for (opt in c("bobyqa", "Nelder_Mead", "nloptwrap")) {
    ctrl <- lmerControl(optimizer = opt, optCtrl = list(maxfun = 1e5), calc.derivs = FALSE)
    f <- try(suppressWarnings(suppressMessages(do.call(lmer, c(args, list(control = ctrl))))), silent = TRUE)
    if (!inherits(f, "try-error")) fits[[opt]] <- f
  }
  crit <- sapply(fits, function(f) if (REML) REMLcrit(f) else deviance(f, REML = FALSE))
  best <- fits[[which.min(crit)]]
  # polish from the best point with nlminb on the same deviance function
  dfun <- getME(best, "devfun")
  if (is.null(dfun)) dfun <- update(best, devFunOnly = TRUE)
  lower <- getME(best, "lower")
  pol <- nlminb(getME(best, "theta"), dfun, lower = lower, control = list(eval.max = 1e4, iter.max = 1e4, rel.tol = 1e-14))
  if (pol$objective < min(crit)) best <- update(best, start = pol$par, control = lmerControl(optimizer = "bobyqa", calc.derivs = FALSE))
  best
}

spec <- read.csv("models.csv", stringsAsFactors = FALSE)
for (i in seq_len(nrow(spec))) {
  s <- spec[i, ]
  data <- datasets[[s$dataset]]
  s$r_formula <- gsub(";", ",", s$r_formula, fixed = TRUE)  # ";" keeps the CSV simple
  m <- best_fit(s$r_formula, data, s$REML, s$weights, s$offset)
  re <- ranef(m, condVar = TRUE)
  ranef_out <- lapply(names(re), function(g) {
    pv <- attr(re[[g]], "postVar")
    # several terms on one factor give one array per term
    arrays <- if (is.list(pv)) pv else list(pv)
    sds <- do.call(cbind, lapply(arrays, function(a)
      matrix(t(sapply(seq_len(dim(a)[3]), function(k) sqrt(diag(as.matrix(a[, , k]))))),
             nrow = dim(a)[3])))
    list(group = g, levels = rownames(re[[g]]), terms = names(re[[g]]),
         values = unname(as.matrix(re[[g]])), condsd = unname(sds))
  })
  out <- list(
    id = s$id, formula = s$r_formula, REML = s$REML,
    objective = if (s$REML) REMLcrit(m) else deviance(m, REML = FALSE),
    theta = unname(getME(m, "theta")), beta = fixef(m), beta_names = names(fixef(m)),
    se = unname(sqrt(diag(as.matrix(vcov(m))))), sigma = sigma(m), nobs = nobs(m),
    ngroups = as.list(ngrps(m)), varcorr = as.data.frame(VarCorr(m)),
    ranef = ranef_out, fitted = unname(fitted(m)), residuals = unname(residuals(m)),
    versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))
  )
  writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
             file.path("fits", paste0(s$id, ".json")))
  cat(s$id, out$objective, "\n")
}
