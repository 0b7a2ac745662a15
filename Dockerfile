# One image for every agent (the compose file picks the entry point per service).
# No registry is reachable in some labs: pass a locally built or imported Node 20 base image with
#   docker build --build-arg NODE_IMAGE=<local image> .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /opt/opi
COPY package.json package-lock.json nx.json tsconfig.base.json ./
COPY tools ./tools
COPY libs ./libs
COPY apps ./apps
RUN npm ci --no-audit --no-fund \
 && NX_DAEMON=false npx nx run-many -t build --projects=tag:layer:app --output-style=static \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
WORKDIR /opt/opi
ENV NODE_ENV=production OPI_STATE_DIR=/var/lib/opi
COPY --from=build /opt/opi ./
RUN mkdir -p /var/lib/opi
USER node
