# One image for the API and the worker (docker-compose.yml runs it twice with different commands): the
# compiled service (`npm run build`) on production dependencies only, run by node as a non-root user. Nothing
# in it runs TypeScript or webpack at start: workers load the workflow bundle the build made.
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
CMD ["node", "dist/scripts/serve.js", "api"]
