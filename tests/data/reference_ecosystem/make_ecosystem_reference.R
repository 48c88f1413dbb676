# Reference values from R's lme4 ecosystem (emmeans, lmerTest, performance,
# broom.mixed) for marginal means, contrasts, linear hypotheses, R^2 / ICC, model
# comparison and tidy results.
#
# Usage, from the repository root:
#   LC_ALL=C Rscript tests/data/reference_ecosystem/make_ecosystem_reference.R
# It reads src/mixed_models/datasets/data/*.csv and writes one JSON per model, plus
# comparisons.json and allfit.json, into tests/data/reference_ecosystem/. Where the
# shared lme4 reference fits exist (SHARED_FITS, default below), their theta is one
# more start for the polish and their objective is recorded next to ours.
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(emmeans)
  library(performance); library(insight); library(broom.mixed); library(jsonlite)
})

data_dir <- "src/mixed_models/datasets/data"
out_dir <- "tests/data/reference_ecosystem"
shared_fits <- Sys.getenv("SHARED_FITS", "/work/shared/reference/fits")
if (!dir.exists(data_dir)) stop("run this script from the repository root")

package_versions <- function() {
  pk <- c("lme4", "lmerTest", "pbkrtest", "emmeans", "performance", "insight",
          "broom.mixed", "Matrix", "jsonlite")
  c(list(R = R.version.string), setNames(lapply(pk, function(p) as.character(packageVersion(p))), pk))
}

# ---------------------------------------------------------------- JSON writer
# jsonlite's digits = NA keeps only 15 significant digits; this writer keeps 17 so
# that every double reads back exactly. Vectors of length one are written as
# scalars unless marked with arr(); data frames are written column-wise.
arr <- function(x) { attr(x, "json_array") <- TRUE; x }

json_atom <- function(v) {
  if (is.factor(v)) v <- as.character(v)
  if (is.character(v)) {
    return(ifelse(is.na(v), "null", vapply(v, function(s) as.character(toJSON(s, auto_unbox = TRUE)), "")))
  }
  if (is.logical(v)) return(ifelse(is.na(v), "null", ifelse(v, "true", "false")))
  if (is.integer(v)) return(ifelse(is.na(v), "null", as.character(v)))
  ifelse(is.finite(v), sprintf("%.17g", v), "null")
}

# Objects are indented one space per level; arrays of numbers or text stay on one
# line, and a matrix gets one line per row.
to_json <- function(x, ind = "") {
  inner <- paste0(ind, " ")
  obj <- function(keys, vals) {
    if (length(vals) == 0) return("{}")
    paste0("{\n", paste0(inner, json_atom(keys), ": ", vals, collapse = ",\n"), "\n", ind, "}")
  }
  if (is.null(x)) return("null")
  if (is.data.frame(x)) {
    cols <- vapply(x, function(col) to_json(arr(as.vector(if (is.factor(col)) as.character(col) else col))), "")
    return(obj(names(x), cols))
  }
  if (is.matrix(x)) {
    rows <- vapply(seq_len(nrow(x)), function(i) to_json(arr(unname(x[i, ]))), "")
    return(paste0("[\n", paste0(inner, rows, collapse = ",\n"), "\n", ind, "]"))
  }
  if (is.list(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    items <- vapply(x, to_json, "", ind = inner)
    if (is.null(names(x))) return(paste0("[\n", paste0(inner, items, collapse = ",\n"), "\n", ind, "]"))
    return(obj(names(x), items))
  }
  atoms <- json_atom(unname(x))
  if (length(x) == 1 && !isTRUE(attr(x, "json_array"))) return(atoms)
  paste0("[", paste(atoms, collapse = ", "), "]")
}

write_json_file <- function(rec, name) {
  path <- file.path(out_dir, paste0(name, ".json"))
  writeLines(to_json(rec), path)
  # fails loudly if the hand-written JSON does not parse
  invisible(fromJSON(path, simplifyVector = FALSE))
}

# Run an expression, collecting its messages and warnings instead of printing them.
quietly <- function(expr) {
  msgs <- character(0); warns <- character(0)
  value <- withCallingHandlers(expr,
    message = function(m) { msgs <<- c(msgs, trimws(conditionMessage(m))); invokeRestart("muffleMessage") },
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(value = value, messages = arr(msgs), warnings = arr(warns))
}

# ---------------------------------------------------------------- fitting
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))

# bobyqa, then nlminb polishing on lme4's own objective from bobyqa's, Nelder-Mead's
# and (where there is one) the shared reference's theta. When the polish finds a
# lower value the model is evaluated at that theta without optimizing again:
# restarting bobyqa there can drift to a worse point on a flat surface (it does
# for the gem's example, whose intercept SD is barely identified by 3 groups).
tight_fit <- function(f, d, reml, shared_id = NULL) {
  m <- lmerTest::lmer(f, data = d, REML = reml, control = ctrl)
  dev <- lme4::lmer(f, data = d, REML = reml, devFunOnly = TRUE)
  starts <- list(bobyqa = getME(m, "theta"))
  nm <- tryCatch(suppressWarnings(suppressMessages(lme4::lmer(f, data = d, REML = reml,
          control = lmerControl(optimizer = "Nelder_Mead", optCtrl = list(maxfun = 1e5))))),
          error = function(e) NULL)
  if (!is.null(nm)) starts$nelder_mead <- getME(nm, "theta")
  shared_path <- file.path(shared_fits, paste0(shared_id, ".json"))
  if (!is.null(shared_id) && file.exists(shared_path)) starts$shared <- fromJSON(shared_path)$theta
  best <- list(value = Inf)
  for (th in starts) {
    o <- nlminb(th, dev, lower = getME(m, "lower"),
                control = list(eval.max = 1e5, iter.max = 1e5, rel.tol = 1e-14))
    if (o$objective < best$value) best <- list(value = o$objective, theta = o$par)
  }
  bobyqa_value <- dev(starts$bobyqa)
  evaluated <- best$value < bobyqa_value - 1e-10
  if (evaluated) {
    m <- lmerTest::lmer(f, data = d, REML = reml, start = list(theta = best$theta),
                        control = lmerControl(optimizer = NULL))
    if (abs(objective(m) - best$value) > 1e-9) stop("the model at the polished theta disagrees")
  }
  attr(m, "fit_info") <- list(bobyqa_objective = bobyqa_value, polished_objective = best$value,
                              evaluated_at_polished_theta = evaluated,
                              lme4_messages = arr(as.character(m@optinfo$conv$lme4$messages)))
  m
}

objective <- function(m) if (isREML(m)) REMLcrit(m) else deviance(m)

shared_objective <- function(id) {
  path <- file.path(shared_fits, paste0(id, ".json"))
  if (!file.exists(path)) return(NULL)
  fromJSON(path)$objective
}

fit_record <- function(m, shared_id) {
  obj <- objective(m)
  so <- if (is.null(shared_id)) NULL else shared_objective(shared_id)
  list(objective = obj, theta = arr(unname(getME(m, "theta"))),
       beta = arr(unname(fixef(m))), beta_names = arr(names(fixef(m))),
       sigma = sigma(m), fit_info = attr(m, "fit_info"),
       shared_reference = if (is.null(so)) NULL else
         list(id = shared_id, objective = so, difference = obj - so))
}

# ---------------------------------------------------------------- emmeans
frame_of <- function(s) {
  # emmeans' summary without its class, factor columns as text
  df <- as.data.frame(s)
  for (v in names(df)) if (is.factor(df[[v]])) df[[v]] <- as.character(df[[v]])
  df
}

emm_for <- function(m, d, spec, by, ddf, at = NULL) {
  if (identical(spec, "1")) spec <- ~ 1
  q <- quietly(emmeans(m, specs = spec, by = by, data = d, lmer.df = ddf, level = 0.95,
                       at = if (is.null(at)) list() else at))
  e <- q$value
  s <- summary(e, level = 0.95)
  list(table = frame_of(s), linfct = unname(e@linfct),
       messages = q$messages, warnings = q$warnings, emm = e)
}

contrasts_for <- function(e, method, adjust) {
  q <- quietly({
    ct <- contrast(e, method = method, adjust = adjust)
    summary(ct, infer = c(TRUE, TRUE), level = 0.95, adjust = adjust)
  })
  s <- q$value
  list(method = method, adjust = adjust, table = frame_of(s),
       annotations = arr(as.character(attr(s, "mesg"))),
       messages = q$messages, warnings = q$warnings)
}

emmeans_block <- function(m, d, spec, by = NULL, contrast_methods = c("pairwise", "trt.vs.ctrl"),
                          at = NULL) {
  out <- list(spec = spec, by = if (is.null(by)) NULL else by, level = 0.95, weights = "equal")
  for (ddf in c("satterthwaite", "kenward-roger")) {
    em <- emm_for(m, d, spec, by, ddf, at)
    ctr <- list()
    for (method in contrast_methods) {
      adjusts <- switch(method, pairwise = c("tukey", "holm", "bonferroni", "none"),
                        trt.vs.ctrl = c("dunnettx", "none"))
      for (a in adjusts) ctr[[paste(method, a, sep = "_")]] <- contrasts_for(em$emm, method, a)
    }
    out[[ddf]] <- list(emmeans = em$table, linfct = em$linfct, messages = em$messages,
                       warnings = em$warnings, contrasts = ctr)
  }
  out
}

reference_grid <- function(m, d) {
  rg <- ref_grid(m, data = d)
  g <- as.data.frame(rg@grid)
  for (v in names(g)) if (is.factor(g[[v]])) g[[v]] <- as.character(g[[v]])
  names(g)[names(g) == ".wgt."] <- "cell_count"
  list(levels = lapply(rg@levels, arr), grid = g,
       covariates_at = lapply(rg@levels[vapply(rg@levels, is.numeric, TRUE)], arr))
}

# ---------------------------------------------------------------- hypotheses
hypotheses <- function(m, tests) {
  lapply(tests, function(t) {
    L <- t$L
    colnames(L) <- names(fixef(m))
    res <- list(label = t$label, L = L, L_columns = arr(colnames(L)),
                rhs = if (is.null(t$rhs)) 0 else t$rhs)
    for (ddf in c("Satterthwaite", "Kenward-Roger")) {
      if (nrow(L) == 1) {
        r <- contest1D(m, L[1, ], rhs = res$rhs, ddf = ddf)
        res[[tolower(ddf)]] <- list(estimate = r[["Estimate"]], se = r[["Std. Error"]],
                                    df = r[["df"]], t = r[["t value"]], p = r[["Pr(>|t|)"]])
      } else {
        r <- contest(m, L, rhs = rep(res$rhs, length.out = nrow(L)), ddf = ddf, joint = TRUE)
        res[[tolower(ddf)]] <- list(F = r[["F value"]], ndf = r[["NumDF"]],
                                    ddf = r[["DenDF"]], p = r[["Pr(>F)"]])
      }
    }
    res
  })
}

# ---------------------------------------------------------------- R^2, ICC
r2_icc <- function(m) {
  r2 <- quietly(r2_nakagawa(m))
  ic <- quietly(icc(m))
  va <- quietly(get_variance(m))
  icc_value <- function(k) if (is.list(ic$value)) ic$value[[k]] else NA_real_
  out <- list(
    r2 = list(marginal = unname(r2$value$R2_marginal), conditional = unname(r2$value$R2_conditional),
              warnings = r2$warnings, messages = r2$messages),
    icc = list(adjusted = icc_value("ICC_adjusted"), unadjusted = icc_value("ICC_unadjusted"),
               conditional = icc_value("ICC_conditional"),
               names_returned = arr(if (is.list(ic$value)) names(ic$value) else character(0)),
               warnings = ic$warnings, messages = ic$messages))
  if (!is.list(ic$value)) {
    # performance refuses a zero variance under its default tolerance (1e-5);
    # with tolerance = 0 it computes the values with that variance at zero
    r0 <- quietly(r2_nakagawa(m, tolerance = 0)); i0 <- quietly(icc(m, tolerance = 0))
    out$tolerance_0 <- list(r2_marginal = unname(r0$value$R2_marginal),
                            r2_conditional = unname(r0$value$R2_conditional),
                            icc_adjusted = i0$value$ICC_adjusted, icc_unadjusted = i0$value$ICC_unadjusted,
                            warnings = arr(c(r0$warnings, i0$warnings)))
  }
  c(out, list(
       variance_components = lapply(va$value, function(v) if (length(v) > 1) as.list(v) else unname(v))))
}

# ---------------------------------------------------------------- tidy, glance, coef
tidy_glance <- function(m) {
  td <- quietly(broom.mixed::tidy(m, effects = c("fixed", "ran_pars", "ran_vals"),
                                  conf.int = TRUE, conf.level = 0.95))
  gl <- quietly(broom.mixed::glance(m))
  ml <- refitML(m)
  cf <- coef(m)
  list(
    tidy = as.data.frame(td$value), tidy_warnings = td$warnings, tidy_messages = td$messages,
    glance = as.list(as.data.frame(gl$value)),
    by_hand = list(nobs = nobs(m), sigma = sigma(m), logLik = as.numeric(logLik(m)),
                   logLik_df = attr(logLik(m), "df"), AIC = AIC(m), BIC = BIC(m),
                   REMLcrit = if (isREML(m)) REMLcrit(m) else NULL,
                   deviance_REML_FALSE = deviance(m, REML = FALSE),
                   deviance_refitML = deviance(ml), logLik_refitML = as.numeric(logLik(ml)),
                   df_residual = df.residual(m)),
    coef = lapply(cf, function(t) list(levels = arr(rownames(t)), terms = arr(colnames(t)),
                                       values = unname(as.matrix(t))))
  )
}

# ---------------------------------------------------------------- one model
model_record <- function(id, dataset, formula, d, shared_id, blocks, tests, note = NULL) {
  cat("fitting", id, "\n")
  f <- as.formula(formula)
  m <- tight_fit(f, d, TRUE, shared_id)
  rec <- list(id = id, dataset = dataset, formula = formula, REML = TRUE, note = note,
              versions = package_versions(), fit = fit_record(m, shared_id),
              reference_grid = reference_grid(m, d))
  rec$emmeans <- lapply(blocks, function(b) emmeans_block(m, d, b$spec, b$by, b$methods, b$at))
  names(rec$emmeans) <- vapply(blocks, function(b) b$name, "")
  rec$hypotheses <- hypotheses(m, tests)
  rec <- c(rec, r2_icc(m), tidy_glance(m))
  write_json_file(rec, id)
  invisible(m)
}

load_data <- function(name) read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = TRUE)

alien <- load_data("alien_species")
sleep <- load_data("sleepstudy")
penicillin <- load_data("penicillin")
catcat <- load_data("categorical_x_categorical_interaction")
cake <- load_data("cake")
cake$temperature <- factor(cake$temperature)  # the CSV holds 175..225 as numbers; a factor here

both <- c("pairwise", "trt.vs.ctrl")
row <- function(...) matrix(c(...), nrow = 1)

m_alien <- model_record(
  "alien_reml", "alien_species", "Aggression ~ Age + Species + (Age | Location)", alien, "alien_reml",
  blocks = list(list(name = "Species", spec = "Species", by = NULL, methods = both),
                list(name = "overall", spec = "1", by = NULL, methods = character(0))),
  tests = list(
    list(label = "SpeciesHuman - SpeciesOod = 0", L = row(0, 0, 1, -1, 0)),
    list(label = "SpeciesHuman = SpeciesOod = SpeciesWeepingAngel = 0",
         L = rbind(c(0, 0, 1, 0, 0), c(0, 0, 0, 1, 0), c(0, 0, 0, 0, 1))),
    list(label = "Age = 0 and SpeciesHuman - SpeciesOod = 0",
         L = rbind(c(0, 1, 0, 0, 0), c(0, 0, 1, -1, 0)))))

m_sleep <- model_record(
  "sleep_reml", "sleepstudy", "Reaction ~ Days + (Days | Subject)", sleep, "sleep_reml",
  blocks = list(list(name = "overall", spec = "1", by = NULL, methods = character(0)),
                list(name = "Days_at_0_4.5_9", spec = "Days", by = NULL, methods = "pairwise",
                     at = list(Days = c(0, 4.5, 9)))),
  tests = list(
    list(label = "(Intercept) + 5 Days = 300", L = row(1, 5), rhs = 300),
    list(label = "(Intercept) = 0 and Days = 0", L = rbind(c(1, 0), c(0, 1)))))

m_pen <- model_record(
  "penicillin_reml", "penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", penicillin,
  "penicillin_reml",
  blocks = list(list(name = "overall", spec = "1", by = NULL, methods = character(0))),
  tests = list(list(label = "(Intercept) = 23", L = row(1), rhs = 23)))

catcat_blocks <- list(
  list(name = "f1", spec = "f1", by = NULL, methods = both),
  list(name = "f2", spec = "f2", by = NULL, methods = both),
  list(name = "f2_by_f1", spec = "f2", by = "f1", methods = both),
  list(name = "f1_by_f2", spec = "f1", by = "f2", methods = both),
  list(name = "f1:f2", spec = c("f1", "f2"), by = NULL, methods = "pairwise"))
m_catcat <- model_record(
  "cat_x_cat_reml", "categorical_x_categorical_interaction", "y ~ f1 * f2 + (1 | gr)", catcat,
  "cat_x_cat_reml", blocks = catcat_blocks,
  note = paste("Unbalanced 2 x 3 design (cell counts 13..21), so emmeans' equal weights differ",
               "from the data's proportions; the fit is singular (theta = 0, two groups)."),
  tests = list(
    list(label = "f1b:f2v - f1b:f2w = 0", L = row(0, 0, 0, 0, 1, -1)),
    list(label = "f1b:f2v = f1b:f2w = 0", L = rbind(c(0, 0, 0, 0, 1, 0), c(0, 0, 0, 0, 0, 1)))))

cake_blocks <- list(
  list(name = "recipe", spec = "recipe", by = NULL, methods = both),
  list(name = "temperature", spec = "temperature", by = NULL, methods = both),
  list(name = "temperature_by_recipe", spec = "temperature", by = "recipe", methods = both),
  list(name = "recipe_by_temperature", spec = "recipe", by = "temperature", methods = both))
cake_inter <- t(sapply(which(grepl(":", names(fixef(
  lmer(angle ~ recipe * temperature + (1 | recipe:replicate), data = cake))))),
  function(j) replace(numeric(18), j, 1)))
m_cake <- model_record(
  "cake_factor_reml", "cake", "angle ~ recipe * temperature + (1 | recipe:replicate)", cake, NULL,
  blocks = cake_blocks,
  note = paste("lme4's cake with temperature as a 6-level factor (the CSV's numbers 175..225 read",
               "as text; lme4 ships it as an ordered factor, whose polynomial contrasts change",
               "the coefficients but not emmeans or contrasts). Balanced 3 x 6 design with a",
               "non-singular random intercept."),
  tests = list(
    list(label = "recipeB - recipeC = 0", L = row(c(0, 1, -1, rep(0, 15)))),
    list(label = "all recipe:temperature interaction coefficients = 0", L = cake_inter)))

# ---------------------------------------------------------------- comparisons
# lme4 names the table's rows after the arguments' expressions, so the models are
# passed by the names of global variables.
anova_table <- function(model_names, extra = "") {
  call_text <- sprintf("anova(%s%s)", paste(model_names, collapse = ", "), extra)
  q <- quietly(eval(parse(text = call_text), envir = globalenv()))
  a <- as.data.frame(q$value)
  list(call = call_text, table = cbind(model = rownames(a), a),
       heading = arr(attr(q$value, "heading")), messages = q$messages, warnings = q$warnings)
}

cat("comparisons\n")
s0 <- tight_fit(Reaction ~ Days + (1 | Subject), sleep, TRUE)
s_zc <- tight_fit(Reaction ~ Days + (1 | Subject) + (0 + Days | Subject), sleep, TRUE,
                  "sleep_zerocorr_reml")
s1 <- m_sleep
a_drop <- tight_fit(Aggression ~ Age + (Age | Location), alien, TRUE)
a1 <- m_alien
ml_shared <- c(sleep_intercept = "sleep_intercept_ml", sleep_zerocorr = NA, sleep_slope = "sleep_ml",
               alien_no_species = NA, alien_full = "alien_ml")
ml <- function(f, d, k) tight_fit(f, d, FALSE, if (is.na(ml_shared[[k]])) NULL else ml_shared[[k]])
ml_fits <- list(
  sleep_intercept = ml(Reaction ~ Days + (1 | Subject), sleep, "sleep_intercept"),
  sleep_zerocorr = ml(Reaction ~ Days + (1 | Subject) + (0 + Days | Subject), sleep, "sleep_zerocorr"),
  sleep_slope = ml(Reaction ~ Days + (Days | Subject), sleep, "sleep_slope"),
  alien_no_species = ml(Aggression ~ Age + (Age | Location), alien, "alien_no_species"),
  alien_full = ml(Aggression ~ Age + Species + (Age | Location), alien, "alien_full"))
for (k in names(ml_fits)) assign(paste0(k, "_ML"), ml_fits[[k]])

cmp <- list(versions = package_versions())
cmp$sleep_random_slope <- list(
  formulas = arr(c(s0 = "Reaction ~ Days + (1 | Subject)", s1 = "Reaction ~ Days + (Days | Subject)")),
  REML_fits = TRUE,
  lme4 = anova_table(c("s0", "s1")),
  ml_fits = anova_table(c("sleep_intercept_ML", "sleep_slope_ML")),
  refit_false = anova_table(c("s0", "s1"), ", refit = FALSE"))
cmp$sleep_three_models <- list(
  formulas = arr(c(s0 = "Reaction ~ Days + (1 | Subject)",
                   s_zc = "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
                   s1 = "Reaction ~ Days + (Days | Subject)")),
  REML_fits = TRUE,
  lme4 = anova_table(c("s0", "s_zc", "s1")),
  ml_fits = anova_table(c("sleep_intercept_ML", "sleep_zerocorr_ML", "sleep_slope_ML")))
cmp$alien_drop_species <- list(
  formulas = arr(c(a_drop = "Aggression ~ Age + (Age | Location)",
                   a1 = "Aggression ~ Age + Species + (Age | Location)")),
  REML_fits = TRUE,
  lme4 = anova_table(c("a_drop", "a1")),
  ml_fits = anova_table(c("alien_no_species_ML", "alien_full_ML")))
cmp$ml_fits <- lapply(names(ml_fits), function(k) {
  r <- fit_record(ml_fits[[k]], if (is.na(ml_shared[[k]])) NULL else ml_shared[[k]])
  r$formula <- paste(deparse(formula(ml_fits[[k]])), collapse = " ")
  r$refitML_of_REML_fit_deviance <- switch(k,
    sleep_intercept = deviance(refitML(s0)), sleep_zerocorr = deviance(refitML(s_zc)),
    sleep_slope = deviance(refitML(s1)), alien_no_species = deviance(refitML(a_drop)),
    alien_full = deviance(refitML(a1)))
  r
})
names(cmp$ml_fits) <- names(ml_fits)
cmp$reml_fits <- list(s0 = fit_record(s0, NULL), s_zc = fit_record(s_zc, "sleep_zerocorr_reml"),
                      a_drop = fit_record(a_drop, NULL))
write_json_file(cmp, "comparisons")

# ---------------------------------------------------------------- allFit
# lme4's allFit from its default fit, as a user runs it: every optimizer it has
# (those from optimx, dfoptim and nloptr included) side by side.
# allFit refits through the model's call, so the call holds the formula itself and
# the name of a global data frame.
allfit_record <- function(f, data_name) {
  m <- eval(bquote(lme4::lmer(.(f), data = .(as.name(data_name)), REML = TRUE)), globalenv())
  q <- quietly(allFit(m, verbose = FALSE))
  s <- summary(q$value)
  ok <- names(s$which.OK)[s$which.OK]
  list(formula = paste(deparse(f), collapse = " "), optimizers = arr(names(s$which.OK)),
       ok = arr(unname(s$which.OK)),
       objective = arr(unname(-2 * s$llik[ok])),
       fixef = list(names = arr(colnames(s$fixef)), values = unname(as.matrix(s$fixef)[ok, , drop = FALSE])),
       sdcor = list(names = arr(colnames(s$sdcor)), values = unname(as.matrix(s$sdcor)[ok, , drop = FALSE])),
       theta = unname(as.matrix(s$theta)[ok, , drop = FALSE]),
       feval = arr(unname(s$feval[ok])),
       optimizer_messages = lapply(s$msgs[ok], function(x) arr(as.character(x))),
       warnings = q$warnings)
}
cat("allFit\n")
write_json_file(list(
  versions = package_versions(),
  sleep_reml = allfit_record(Reaction ~ Days + (Days | Subject), "sleep"),
  alien_reml = allfit_record(Aggression ~ Age + Species + (Age | Location), "alien")), "allfit")
cat("done\n")
