# The trailwarden worker image: `docker compose up` runs it next to Temporal (see docker-compose.yml).
FROM node:20-bookworm-slim AS build
# a C compiler for the native scanner (native/: libdeflate and the candidate search); the image runs without it
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
ENV TRAILWARDEN_NATIVE_REQUIRED=1
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY native ./native
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
# MALLOC_ARENA_MAX=2: scan threads each inflate into malloc'd buffers; per-thread malloc arenas held ~30 MB more
ENV NODE_ENV=production AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
# a 2 MB young generation (the worker's garbage is short-lived; 16 MB semi-spaces cost ~30 MB of RSS), and an old
# generation that grows by half its live size, not up to 4x: the same flags as bin/trailwarden.js's shebang
ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=50", "--single-threaded-gc", "bin/trailwarden.js"]
CMD ["worker"]
