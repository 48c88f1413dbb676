# lme4's profile intervals of the correlation on sleepstudy subsets whose correlation
# trace meets a zero-SD floor (tests/inference/test_profile_floor.py).
# Run from this folder: Rscript make_profile_reference.R  (writes profile_reference.json)
suppressMessages({library(lme4); library(jsonlite)})
data(sleepstudy)
cases <- list(c(308, 310, 333, 334, 350, 370), c(309, 330, 333, 335, 349, 370),
              c(308, 309, 310, 349, 352, 372))
out <- lapply(cases, function(subjects) {
  d <- droplevels(subset(sleepstudy, Subject %in% subjects))
  m <- lmer(Reaction ~ Days + (Days | Subject), d)
  warns <- character(0)
  keep <- function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") }
  p <- withCallingHandlers(profile(m, which = 2, signames = FALSE), warning = keep)
  ci <- withCallingHandlers(confint(p), warning = keep)
  trace <- p[p$.par == "cor_Days.(Intercept)|Subject", ]
  list(subjects = subjects, lower = ci[1, 1], upper = ci[1, 2], warnings = unique(warns),
       trace_value = trace[["cor_Days.(Intercept)|Subject"]], trace_zeta = trace$.zeta)
})
meta <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
             formula = "Reaction ~ Days + (Days | Subject), REML, profile(m, which = 2); confint")
write_json(list(meta = meta, cases = out), "profile_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
