# Reference fits of structured random-effects covariances (issue 6): glmmTMB's cs() and
# ar1(), and nlme's pdCompSymm / pdIdent for the homogeneous variants.
# Usage (from this folder): Rscript make_reference_structured.R
# Needs R with glmmTMB (Debian r-cran-glmmtmb), nlme and jsonlite.
# Writes data/*.csv, models.csv and fits/*.json.
suppressPackageStartupMessages({library(glmmTMB); library(nlme); library(jsonlite)})
dir.create("data", showWarnings = FALSE); dir.create("fits", showWarnings = FALSE)

as_text <- function(d) {
  for (v in names(d)) if (is.factor(d[[v]])) d[[v]] <- as.character(d[[v]])
  d
}
datasets <- list(
  machines = as_text(as.data.frame(nlme::Machines)),
  oats = setNames(as_text(as.data.frame(nlme::Oats)), c("Block", "Variety", "nitro", "grain")),
  orthodont = as_text(as.data.frame(nlme::Orthodont))
)
for (nm in names(datasets)) write.csv(datasets[[nm]], file.path("data", paste0(nm, ".csv")),
                                      row.names = FALSE)

# id, data set, package, R formula (glmmTMB) or nlme call, our formula, REML
models <- read.csv(text = '
id,dataset,engine,r_model,py_formula,REML
machines_cs_reml,machines,glmmTMB,score ~ Machine + cs(0 + Machine | Worker),score ~ Machine + cs(0 + Machine | Worker),TRUE
machines_cs_ml,machines,glmmTMB,score ~ Machine + cs(0 + Machine | Worker),score ~ Machine + cs(0 + Machine | Worker),FALSE
oats_cs_reml,oats,glmmTMB,grain ~ nitro + Variety + cs(0 + Variety | Block),grain ~ nitro + Variety + cs(0 + Variety | Block),TRUE
orthodont_cs_reml,orthodont,glmmTMB,distance ~ age + Sex + cs(0 + factor(age) | Subject),distance ~ age + Sex + cs(0 + C(age) | Subject),TRUE
oats_ar1_reml,oats,glmmTMB,grain ~ Variety + ar1(0 + factor(nitro) | Block),grain ~ Variety + ar1(0 + C(nitro) | Block),TRUE
machines_ar1_ml,machines,glmmTMB,score ~ Machine + ar1(0 + Machine | Worker),score ~ Machine + ar1(0 + Machine | Worker),FALSE
orthodont_ar1_reml,orthodont,glmmTMB,distance ~ age + Sex + ar1(0 + factor(age) | Subject),distance ~ age + Sex + ar1(0 + C(age) | Subject),TRUE
machines_homcs_reml,machines,nlme,score ~ Machine; Worker = pdCompSymm(~ 0 + Machine),"score ~ Machine + cs(0 + Machine | Worker, hom = TRUE)",TRUE
machines_homdiag_ml,machines,nlme,score ~ Machine; Worker = pdIdent(~ 0 + Machine),"score ~ Machine + diag(0 + Machine | Worker, hom = TRUE)",FALSE
', stringsAsFactors = FALSE, strip.white = TRUE)
models <- models[models$id != "", ]
write.csv(models, "models.csv", row.names = FALSE)

# glmmTMB's default control: tighter nlminb tolerances end in "false convergence" here.
fit_glmmtmb <- function(s, data) {
  m <- glmmTMB(as.formula(s$r_model), data = data, REML = s$REML)
  vc <- VarCorr(m)$cond[[1]]
  list(objective = -2 * as.numeric(logLik(m)), beta = as.list(fixef(m)$cond),
       se = unname(sqrt(diag(vcov(m)$cond))), sigma = sigma(m),
       sd = unname(attr(vc, "stddev")), corr = unname(attr(vc, "correlation")),
       converged = m$fit$convergence == 0 && m$sdr$pdHess, message = m$fit$message, program = paste("glmmTMB", packageVersion("glmmTMB")))
}

fit_nlme <- function(s, data) {
  parts <- strsplit(s$r_model, ";", fixed = TRUE)[[1]]
  random <- eval(parse(text = paste0("list(", parts[2], ")")))
  ctrl <- lmeControl(maxIter = 500, msMaxIter = 500, niterEM = 100, tolerance = 1e-10,
                     msTol = 1e-12, opt = "optim")
  m <- lme(as.formula(parts[1]), random = random, data = data,
           method = if (s$REML) "REML" else "ML", control = ctrl)
  cov <- matrix(unclass(getVarCov(m)), nrow = nrow(getVarCov(m)))
  sd <- sqrt(diag(cov))
  list(objective = -2 * as.numeric(logLik(m)), beta = as.list(fixef(m)),
       se = unname(sqrt(diag(vcov(m)))), sigma = m$sigma, sd = unname(sd),
       corr = unname(cov / outer(sd, sd)), converged = TRUE, message = "",
       program = paste("nlme", packageVersion("nlme")))
}

for (i in seq_len(nrow(models))) {
  s <- models[i, ]
  data <- datasets[[s$dataset]]
  out <- if (s$engine == "glmmTMB") fit_glmmtmb(s, data) else fit_nlme(s, data)
  out$id <- s$id; out$r_model <- s$r_model; out$REML <- s$REML
  write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
        file.path("fits", paste0(s$id, ".json")))
  cat(s$id, out$objective, out$sigma, "\n")
}
