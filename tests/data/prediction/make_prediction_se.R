# Standard errors of conditional predictions and per-level conditional covariances with lme4.
# Usage: Rscript make_prediction_se.R REFDIR DATADIR OUTDIR
#   REFDIR  = tests/data/reference (models.csv, fits/, predictions/)
#   DATADIR = src/mixed_models/datasets/data (the data sets as CSV)
# For every model with a predictions/<id>.json file, on that file's newdata:
#   se_known: sigma * sqrt(c' P^-1 c), c = [Lambda' z; x], P the joint precision of (u, beta)
#             built from lme4's getME(m, "Zt", "Lambdat", "X"); unseen levels contribute
#             nothing (their columns of Z are zero, as in lme4 >= 1.1-35's se.fit).
#   condvar:  per grouping factor, ranef(m, condVar = TRUE)'s postVar arrays (S x S x levels).
# The model is evaluated at the reference optimum (fits/<id>.json theta) as make_predictions.R does.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
ref_dir <- args[1]; data_dir <- args[2]; out <- args[3]
spec <- read.csv(file.path(ref_dir, "models.csv"), stringsAsFactors=FALSE)
ids <- sub("\\.json$", "", list.files(file.path(ref_dir, "predictions")))
for (id in ids) {
  s <- spec[spec$id == id, ]
  d <- read.csv(file.path(data_dir, paste0(s$dataset, ".csv")), stringsAsFactors=TRUE)
  fac <- if (is.na(s$factors) || s$factors == "") character(0) else strsplit(s$factors, ";")[[1]]
  for (v in fac) d[[v]] <- factor(d[[v]])
  f <- as.formula(s$formula)
  ref <- fromJSON(file.path(ref_dir, "fits", paste0(id, ".json")))
  m <- lmer(f, data=d, REML=as.logical(s$REML), start=list(theta=ref$theta),
            control=lmerControl(optimizer=NULL))
  nd <- fromJSON(file.path(ref_dir, "predictions", paste0(id, ".json")))$newdata
  terms_x <- delete.response(terms(m, fixed.only=TRUE))
  mf <- model.frame(m, fixed.only=TRUE)
  is_fac <- vapply(mf, is.factor, TRUE)
  xlev <- lapply(mf[is_fac], levels)
  x_new <- model.matrix(terms_x, model.frame(terms_x, nd, xlev=xlev),
                        contrasts.arg=attr(getME(m, "X"), "contrasts"))
  # Z of the new rows: the same bars evaluated on data + newdata, where the unseen level
  # "NEW" (rows 1-3, every grouping factor) is replaced by a fitted level and then zeroed.
  gvars <- unique(unlist(lapply(findbars(f), function(b) all.vars(b[[3]]))))
  nd2 <- nd
  for (g in gvars) nd2[[g]][nd2[[g]] == "NEW"] <- as.character(d[[g]][1])
  both <- rbind(d[names(nd)], nd2)
  for (g in gvars) both[[g]] <- factor(as.character(both[[g]]), levels=levels(factor(d[[g]])))
  for (v in fac) if (!(v %in% gvars)) both[[v]] <- factor(both[[v]], levels=levels(d[[v]]))
  zt_both <- lFormula(f, data=both, control=lmerControl(check.nobs.vs.nlev="ignore",
                      check.nobs.vs.nRE="ignore"))$reTrms$Zt
  n <- nrow(d)
  stopifnot(isTRUE(all.equal(zt_both[, 1:n], getME(m, "Zt"), check.attributes=FALSE)))
  z_new <- as.matrix(t(zt_both[, n + seq_len(nrow(nd))]))
  new_rows <- Reduce(`|`, lapply(gvars, function(g) nd[[g]] == "NEW"))
  z_new[new_rows, ] <- 0
  lt <- getME(m, "Lambdat"); zl <- t(lt %*% getME(m, "Zt")); x <- getME(m, "X")
  p <- rbind(cbind(crossprod(zl) + Diagonal(ncol(zl)), crossprod(zl, x)),
             cbind(crossprod(x, zl), crossprod(x)))
  cc <- rbind(as.matrix(lt %*% t(z_new)), t(x_new))
  quad <- colSums(cc * as.matrix(solve(p, cc)))
  re <- ranef(m, condVar=TRUE)
  condvar <- lapply(names(re), function(g) {
    pv <- attr(re[[g]], "postVar")
    list(group=g, levels=rownames(re[[g]]), terms=colnames(re[[g]]), dim=dim(pv), values=as.vector(pv))
  })
  rec <- list(id=id, sigma=sigma(m), se_known=unname(sigma(m) * sqrt(quad)), condvar=condvar,
              versions=list(R=R.version.string, lme4=as.character(packageVersion("lme4"))))
  writeLines(toJSON(rec, auto_unbox=TRUE, digits=NA, pretty=TRUE),
             file.path(out, paste0(id, ".json")))
  cat("wrote", id, "\n")
}
