# syntax=docker/dockerfile:1.7
# One image per service, chosen by a build argument (the default target, the last stage):
#   docker build --build-arg SERVICE=embedding -t ghcr.io/funnel-ml/embedding:0.1.0 .
# and the training image with --target training (below).
# SERVICE is a folder under services/ with src/main.ts (sentiment, embedding, similarity, recommendation, router).
#
# The base image is pinned by digest (a tag can be moved; the digest is what was tested) on Node 24, an LTS
# line with security support (Node 20 left it in April 2026); the code also runs on Node 20.19+, the README's
# minimum for development. To update: `docker buildx imagetools inspect node:24-bookworm-slim` and replace both.
ARG NODE_IMAGE=node:24.18.0-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d
ARG NPM_VERSION=11.19.1

# 0. The pinned npm and the package manifests only: the `npm ci` layers below are rebuilt when a manifest or
#    the lockfile changes, not on every source edit. Every workspace's package.json is listed (a test checks).
FROM ${NODE_IMAGE} AS manifests
ARG NPM_VERSION
WORKDIR /app
RUN npm install --global "npm@${NPM_VERSION}"
COPY package.json package-lock.json .npmrc ./
COPY tools/production-workspaces.mjs tools/
# @funnel/proto's `prepare` hook (it generates the code on a full install, and says "not generating" and exits
# 0 on a production one) runs during every npm ci below.
COPY proto/scripts proto/scripts
COPY proto/package.json proto/
COPY registry/package.json registry/
COPY training/package.json training/
COPY loadtest/package.json loadtest/
COPY k8s/package.json k8s/
COPY services/embedding/package.json services/embedding/
COPY services/platform/package.json services/platform/
COPY services/recommendation/package.json services/recommendation/
COPY services/router/package.json services/router/
COPY services/runtime/package.json services/runtime/
COPY services/sentiment/package.json services/sentiment/
COPY services/settings/package.json services/settings/
COPY services/similarity/package.json services/similarity/
COPY services/two-tower/package.json services/two-tower/
COPY services/vector-index/package.json services/vector-index/

# 1. Generated protobuf code is not in git: a full install (buf, ts-proto are dev tools) produces it, through
#    @funnel/proto's `prepare` hook, so the .proto sources are copied first.
FROM manifests AS generate
COPY proto proto
RUN npm ci --no-audit --no-fund && test -f proto/src/gen/descriptor-set.binpb

# 2. Production dependencies of one workspace and the workspaces it needs, nothing else: `npm ci --omit=dev`
#    after narrowing the root's workspaces (tools/production-workspaces.mjs says why), then the sources of
#    exactly those workspaces. The service runs its TypeScript through tsx, so tsx must be a dependency.
FROM manifests AS deps
ARG SERVICE
RUN test -n "${SERVICE}" && test -f "/app/services/${SERVICE}/package.json" \
    || { echo "--build-arg SERVICE=<name> must name a folder with services/<name>/src/main.ts, got '${SERVICE}'" >&2; exit 1; }
RUN node tools/production-workspaces.mjs "services/${SERVICE}" > /tmp/workspaces \
    && npm ci --omit=dev --no-audit --no-fund \
    && { test -f node_modules/tsx/package.json \
         || { echo "services/${SERVICE}/package.json must list tsx in dependencies" >&2; exit 1; }; }
COPY . /src
RUN test -f "/src/services/${SERVICE}/src/main.ts" \
    && for workspace in $(cat /tmp/workspaces); do cp -R "/src/${workspace}/." "/app/${workspace}/"; done \
    && rm -rf /src /app/tools
COPY --from=generate /app/proto/src/gen proto/src/gen

# The training image (the retrain CronJob, k8s/base/retrain), built with --target training:
#   docker build --target training -t ghcr.io/funnel-ml/training:0.1.0 .
# Production dependencies of the training workspace; the CronJob's args name the subcommand (retrain ...).
FROM manifests AS training-deps
RUN node tools/production-workspaces.mjs training > /tmp/workspaces && npm ci --omit=dev --no-audit --no-fund
COPY . /src
RUN for workspace in $(cat /tmp/workspaces); do cp -R "/src/${workspace}/." "/app/${workspace}/"; done \
    && rm -rf /src /app/tools
COPY --from=generate /app/proto/src/gen proto/src/gen

FROM ${NODE_IMAGE} AS training
ENV NODE_ENV=production
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn*
COPY --from=training-deps /app /app
WORKDIR /app/training
USER 10001:10001
ENTRYPOINT ["node", "--import", "tsx", "src/cli/main.ts"]

# 3. Runtime: no npm, no build tools; files owned by root and read-only to the service's numeric non-root
#    user (matches runAsUser in k8s/components/pod-defaults; runAsNonRoot needs a numeric USER to verify).
FROM ${NODE_IMAGE}
ARG SERVICE
ENV NODE_ENV=production \
    FUNNEL_HOST=0.0.0.0
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn*
COPY --from=deps /app /app
WORKDIR /app/services/${SERVICE}
USER 10001:10001
EXPOSE 50051 9464
# node is PID 1 with no npm or tsx wrapper around it, so SIGTERM reaches the server's drain directly.
CMD ["node", "--import", "tsx", "src/main.ts"]
