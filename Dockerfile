# syntax=docker/dockerfile:1.7
# One image per service, chosen by a build argument (the default target, the last stage):
#   docker build --build-arg SERVICE=embedding -t ghcr.io/funnel-ml/embedding:0.1.0 .
# and the training image with --target training (below).
# SERVICE is a folder under services/ with src/main.ts (sentiment, embedding, similarity, recommendation, router).
ARG NODE_IMAGE=node:20.19.5-bookworm-slim
ARG NPM_VERSION=11.19.1

# 0. The repository with the pinned npm: what every build stage starts from.
FROM ${NODE_IMAGE} AS source
ARG NPM_VERSION
WORKDIR /app
RUN npm install --global "npm@${NPM_VERSION}"
COPY . .

# 1. Generated protobuf code is not in git: a full install (buf, ts-proto are dev tools) produces it.
FROM source AS generate
RUN npm ci --no-audit --no-fund && npm run generate -w @funnel/proto

# The training image (the retrain CronJob, k8s/base/retrain), built with --target training:
#   docker build --target training -t ghcr.io/funnel-ml/training:0.1.0 .
# Production dependencies of the training workspace; the CronJob's args name the subcommand (retrain ...).
FROM source AS training-deps
RUN npm ci --omit=dev --no-audit --no-fund --workspace training
COPY --from=generate /app/proto/src/gen proto/src/gen

FROM ${NODE_IMAGE} AS training
ENV NODE_ENV=production
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn*
COPY --from=training-deps /app /app
WORKDIR /app/training
USER 10001:10001
ENTRYPOINT ["node", "--import", "tsx", "src/cli/main.ts"]

# 2. Production dependencies of the one service and the workspaces it uses, nothing else. The service runs
#    its TypeScript through tsx, so tsx must be one of its dependencies (not only a dev tool at the root).
FROM source AS deps
ARG SERVICE
RUN test -n "${SERVICE}" && test -f "services/${SERVICE}/src/main.ts" \
    || { echo "--build-arg SERVICE=<name> must name a folder with services/<name>/src/main.ts, got '${SERVICE}'" >&2; exit 1; }
RUN npm ci --omit=dev --no-audit --no-fund --workspace "services/${SERVICE}" \
    && { test -f node_modules/tsx/package.json \
         || { echo "services/${SERVICE}/package.json must list tsx in dependencies" >&2; exit 1; }; }
COPY --from=generate /app/proto/src/gen proto/src/gen

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
