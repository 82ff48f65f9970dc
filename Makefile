# pki-db-upgrade: the two set-up commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := build

.PHONY: deps build typecheck docs test demo bench bench-noop bench-scale bench-replicated bench-convergence bench-cluster bench-dnf rpm srpm rpmlint clean

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deps: node_modules/.installed
	@bash test/install-system-deps.sh

dist/pki-db-upgrade.js: node_modules/.installed $(shell find src upgrades packaging -name '*.ts' -o -name '*.mjs' 2>/dev/null | grep -v registry.generated)
	node packaging/build.mjs

dist/harness.js: node_modules/.installed $(shell find test/harness -name '*.ts' 2>/dev/null)
	npx esbuild test/harness/cli.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=$@

build: dist/pki-db-upgrade.js

typecheck: node_modules/.installed
	node packaging/generate-registry.mjs >/dev/null
	npx tsc --noEmit -p .

# The exit-code tables of README.md and the man page source, from src/core/exit-codes.ts
# (test/unit/exit-codes.test.ts fails when they differ); the License and bundled Provides of the
# spec, from what esbuild bundles (the spec's %build fails when they differ).
docs: node_modules/.installed
	node packaging/exit-codes.mjs
	node packaging/build.mjs --spec packaging/pki-db-upgrade.spec

# The whole suite against real 389 DS instances; ends with "N passed, N failed".
test: deps build dist/harness.js typecheck
	@results=$$(mktemp -t pki-db-upgrade-jest.XXXXXX.json); status=0; \
	npx jest --ci --json --outputFile=$$results $(JEST_ARGS) || status=$$?; \
	node test/summarize.js $$results || status=1; \
	rm -f $$results; exit $$status

# A throw-away 389 DS with a PKI database at an old version, upgraded with the bundled file.
demo: deps build dist/harness.js
	@bash test/demo.sh

# Figures, not tests: backfill vs ldapmodify, memory, no-op run, bundle size, convergence, the
# three-supplier cluster, then what %posttrans adds to a no-op dnf reinstall.
bench: deps build dist/harness.js dist/bench-convergence.js dist/bench-cluster.js dist/bench-dnf.js
	@bash test/bench/record.sh bench bash test/bench/run.sh
	@bash test/bench/record.sh bench-convergence node dist/bench-convergence.js
	@bash test/bench/record.sh bench-cluster node dist/bench-cluster.js
	@bash test/bench/record.sh bench-dnf env PKI_BENCH_REPO="$(CURDIR)" node dist/bench-dnf.js

# The no-op table of make bench alone: a run with nothing to do against node -e 0 + one ldapsearch,
# and the bundle's own start (--version), on a 389 DS of its own (a minute).
bench-noop: deps build
	@bash test/bench/record.sh bench-noop env PKI_BENCH_ONLY=noop bash test/bench/run.sh

# Scale (not part of make bench): the full upgrade of a CA of 20,000, 100,000 and 1,000,000
# records with durable transactions on, the server's ceiling, peak RSS, the index task, nothing to
# do. About 70 minutes and 46 GiB of free space in $TMPDIR (docs/benchmarks.md, "make bench-scale").
dist/bench-scale.js: node_modules/.installed $(shell find src test/harness test/bench -name '*.ts' 2>/dev/null)
	npx esbuild test/bench/scale.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=$@

bench-scale: deps build dist/bench-scale.js
	@bash test/bench/record.sh bench-scale env PKI_BENCH_REPO="$(CURDIR)" node dist/bench-scale.js

# The bundle of the tracking steps and the real issuerName backfill only (make bench, bench-replicated).
dist/bench-backfill.js: node_modules/.installed $(shell find src upgrades test/bench/upgrades packaging -name '*.ts' -o -name '*.mjs' 2>/dev/null | grep -v registry.generated)
	node packaging/build.mjs --upgrades test/bench/upgrades --package-version 10.3.3 --out $@

# Replicated: the backfill of 100,000 records on a pair until both have it, against the replica's
# replay rate alone, durable transactions on (#17 item 2; about 10 minutes).
dist/bench-replicated.js: node_modules/.installed $(shell find src test/harness test/bench -name '*.ts' 2>/dev/null)
	npx esbuild test/bench/replicated.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=$@

bench-replicated: deps dist/bench-backfill.js dist/bench-replicated.js
	@bash test/bench/record.sh bench-replicated env PKI_BENCH_REPO="$(CURDIR)" node dist/bench-replicated.js

# Cluster: time from the last local write to detected convergence vs actual arrival (ratio).
dist/bench-convergence.js: node_modules/.installed $(shell find src test/harness test/bench -name '*.ts' 2>/dev/null)
	npx esbuild test/bench/convergence.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=$@

bench-convergence: deps dist/bench-convergence.js
	@bash test/bench/record.sh bench-convergence node dist/bench-convergence.js

# Cluster: the automated upgrade on three suppliers: claim time, one run alone, three at once.
dist/bench-cluster.js: node_modules/.installed $(shell find src test/harness test/bench -name '*.ts' 2>/dev/null)
	npx esbuild test/bench/cluster.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=$@

bench-cluster: deps build dist/bench-cluster.js
	@bash test/bench/record.sh bench-cluster node dist/bench-cluster.js

# dnf: the time %posttrans adds to a dnf reinstall with nothing to upgrade (real dnf, a local
# repository, two installroots: the package against the same files without scriptlets).
dist/bench-dnf.js: node_modules/.installed $(shell find src test/harness test/support test/bench -name '*.ts' 2>/dev/null)
	npx esbuild test/bench/dnf-reinstall.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=$@

bench-dnf: deps dist/bench-dnf.js
	@bash test/bench/record.sh bench-dnf env PKI_BENCH_REPO="$(CURDIR)" node dist/bench-dnf.js

# The source RPM and the noarch RPM (packaging/pki-db-upgrade.spec), built by rpmbuild -ba from a
# source tarball and the locked npm packages (the bundle is made in the spec's %build), into
# $(RPM_OUTDIR); `make srpm`: the source RPM only. Version from package.json; override to build
# other versions (the RPM tests build N and N+1):
#   make rpm RPM_VERSION=11.7.0 RPM_RELEASE=2 RPM_UPGRADES=DIR RPM_OUTDIR=DIR
RPM_VERSION ?= $(shell node -p "require('./package.json').version")
RPM_RELEASE ?= 1
RPM_UPGRADES ?= upgrades
RPM_OUTDIR ?= dist/rpm
RPM_ARGS = --version '$(RPM_VERSION)' --release '$(RPM_RELEASE)' --upgrades '$(RPM_UPGRADES)' --outdir '$(RPM_OUTDIR)'
rpm: deps
	@bash packaging/build-rpm.sh $(RPM_ARGS)

srpm: deps
	@bash packaging/build-rpm.sh --srpm $(RPM_ARGS)

# rpmlint on the spec and the two packages of `make rpm`, with the exceptions of the spec's and the
# packages' rpmlintrc joined (rpmlint takes one file).
rpmlint: rpm
	cat packaging/pki-db-upgrade.rpmlintrc packaging/rpmlint/packages.rpmlintrc > $(RPM_OUTDIR)/all.rpmlintrc
	rpmlint -r $(RPM_OUTDIR)/all.rpmlintrc packaging/pki-db-upgrade.spec \
	  $(RPM_OUTDIR)/pki-db-upgrade-$(subst -,~,$(RPM_VERSION))-$(RPM_RELEASE).src.rpm \
	  $(RPM_OUTDIR)/pki-db-upgrade-$(subst -,~,$(RPM_VERSION))-$(RPM_RELEASE).noarch.rpm

clean:
	rm -rf dist upgrades/registry.generated.ts
