# lme4's REML criterion for a double bar with a 3-level factor, for tests/design/test_double_bar.py.
# Run from the repository root: Rscript tests/data/double_bar/factor_double_bar.R
library(lme4)
d <- read.csv("tests/data/double_bar/factor_double_bar.csv", stringsAsFactors = TRUE)
fits <- list(
  double_bar = lmer(y ~ x + f + (f || g), d, REML = TRUE),
  separate = lmer(y ~ x + f + (1 | g) + (0 + f | g), d, REML = TRUE),
  two_terms_double_bar = lmer(y ~ x + f + (x + f || g), d, REML = TRUE)
)
cat("lme4", as.character(packageVersion("lme4")), "\n")
for (name in names(fits)) cat(name, sprintf("%.6f", REMLcrit(fits[[name]])), "\n")
dd <- d; dd$f1 <- as.numeric(d$f == "b"); dd$f2 <- as.numeric(d$f == "c")
diag_fit <- lmer(y ~ x + f + (1 + f1 + f2 || g), dd, REML = TRUE)
cat("diag", sprintf("%.6f", REMLcrit(diag_fit)), "\n")
