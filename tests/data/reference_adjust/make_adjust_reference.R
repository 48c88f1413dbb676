# Reference values of every p-value adjustment emmeans offers for contrasts of
# marginal means, and of its multivariate-t ("mvt") adjustment computed precisely.
#
# Usage, from the repository root:
#   LC_ALL=C Rscript tests/data/reference_adjust/make_adjust_reference.R
# Each model is evaluated at the theta of tests/data/reference_ecosystem/<id>.json
# (lme4 with optimizer = NULL), so that the fits are exactly those of that oracle.
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(emmeans); library(mvtnorm); library(jsonlite)
})
data_dir <- "src/mixed_models/datasets/data"
ref_dir <- "tests/data/reference_ecosystem"
out <- "tests/data/reference_adjust/adjustments.json"
if (!dir.exists(data_dir)) stop("run this script from the repository root")

versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                 lmerTest = as.character(packageVersion("lmerTest")),
                 emmeans = as.character(packageVersion("emmeans")),
                 mvtnorm = as.character(packageVersion("mvtnorm")))

fit_at <- function(id, d) {
  ref <- fromJSON(file.path(ref_dir, paste0(id, ".json")))
  f <- as.formula(ref$formula)
  m <- lmerTest::lmer(f, data = d, REML = TRUE, start = list(theta = ref$fit$theta),
                      control = lmerControl(optimizer = NULL))
  list(model = m, objective = REMLcrit(m), reference_objective = ref$fit$objective)
}

# emmeans' integer df for mvtnorm (its .fix.df): at least 1, floor(df + 0.25), 0 = normal
fix_df <- function(df) sapply(df, function(d) { d <- max(1, d); if (is.infinite(d) || d > 9999) 0 else floor(d + 0.25) })

precise <- GenzBretz(maxpts = 1e6, abseps = 2e-6, releps = 0)

# The mvt adjustment by hand with a much finer integration than emmeans' default
# (GenzBretz abseps = 1e-3; here 2e-6): p = 1 - P(max |T_i| < |t|), the critical value is the
# equicoordinate quantile at level; T multivariate t with the contrasts' correlation.
mvt_precise <- function(con, level, by_rows) {
  s <- as.data.frame(summary(con, adjust = "none", infer = c(FALSE, TRUE)))
  corr <- cov2cor(vcov(con))
  df <- fix_df(s$df); t <- s$t.ratio
  p <- numeric(length(t)); crit <- numeric(length(t))
  for (rows in by_rows) {
    k <- length(rows); R <- corr[rows, rows, drop = FALSE]
    for (i in rows) {
      set.seed(1)
      p[i] <- 1 - pmvt(rep(-abs(t[i]), k), rep(abs(t[i]), k), df = as.integer(df[i]),
                       corr = R, algorithm = precise)
    }
    # one equicoordinate quantile per df of the family
    for (d in unique(df[rows])) {
      set.seed(1)
      crit[rows[df[rows] == d]] <- qmvt(level, tail = "both.tails", df = as.integer(d), corr = R,
                                        algorithm = precise)$quantile
    }
  }
  list(p_value = p, critical_value = crit, df_used = df)
}

adjusts <- c("tukey", "scheffe", "sidak", "bonferroni", "dunnettx", "holm", "hochberg",
             "hommel", "BH", "BY", "mvt", "none")

block <- function(m, spec, by, method) {
  em <- emmeans(m, spec, by = by, lmer.df = "satterthwaite")
  con <- contrast(em, method = method)
  s0 <- as.data.frame(summary(con, adjust = "none"))
  by_rows <- if (is.null(by)) list(seq_len(nrow(s0))) else unname(split(seq_len(nrow(s0)), s0[[by]]))
  tables <- lapply(adjusts, function(a) {
    set.seed(1)
    s <- suppressMessages(as.data.frame(summary(con, adjust = a, infer = c(TRUE, TRUE))))
    list(adjust_asked = a, annotations = attr(summary(con, adjust = a, infer = c(TRUE, TRUE)), "mesg"),
         p_value = s$p.value, lower = s$lower.CL, upper = s$upper.CL)
  })
  names(tables) <- adjusts
  list(spec = spec, by = by, method = method, level = 0.95, contrast = as.character(s0$contrast),
       by_values = if (is.null(by)) NULL else as.character(s0[[by]]),
       estimate = s0$estimate, SE = s0$SE, df = s0$df, t_ratio = s0$t.ratio,
       adjusted = tables, mvt_precise = mvt_precise(con, 0.95, by_rows))
}

load_data <- function(name) read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = TRUE)
alien <- load_data("alien_species")
catcat <- load_data("categorical_x_categorical_interaction")
cake <- load_data("cake"); cake$temperature <- factor(cake$temperature)

a <- fit_at("alien_reml", alien)
cc <- fit_at("cat_x_cat_reml", catcat)
ck <- fit_at("cake_factor_reml", cake)
rec <- list(
  versions = versions,
  fits = list(alien_reml = a[-1], cat_x_cat_reml = cc[-1], cake_factor_reml = ck[-1]),
  blocks = list(
    alien_Species_pairwise = c(list(model = "alien_reml"), block(a$model, "Species", NULL, "pairwise")),
    alien_Species_trt.vs.ctrl = c(list(model = "alien_reml"), block(a$model, "Species", NULL, "trt.vs.ctrl")),
    cat_x_cat_f2_by_f1_pairwise = c(list(model = "cat_x_cat_reml"), block(cc$model, "f2", "f1", "pairwise")),
    cat_x_cat_cells_pairwise = c(list(model = "cat_x_cat_reml"), block(cc$model, c("f1", "f2"), NULL, "pairwise")),
    cake_temperature_pairwise = c(list(model = "cake_factor_reml"), block(ck$model, "temperature", NULL, "pairwise"))))
writeLines(toJSON(rec, digits = I(17), auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE), out)
invisible(fromJSON(out))
cat("wrote", out, "\n")
