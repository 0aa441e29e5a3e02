# Basket: build stage compiles TypeScript; the runtime stage has production dependencies and the
# compiled output only, runs as a non-root user, keeps its data in a volume, and reports
# readiness to the container runtime through the actuator.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
COPY test ./test
COPY bench ./bench
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 BASKET_DATA_DIR=/var/lib/basket
WORKDIR /app
# uid/gid 999 fixed: the Kubernetes manifests' securityContext names them
RUN groupadd --system --gid 999 basket && useradd --system --uid 999 --gid basket --home /app basket \
  && mkdir -p /var/lib/basket && chown basket:basket /var/lib/basket
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
USER basket
VOLUME ["/var/lib/basket"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "require('http').get('http://127.0.0.1:'+process.env.PORT+'/actuator/health/readiness',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "--min-semi-space-size=16", "dist/src/main.js"]
