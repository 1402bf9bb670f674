# Build stage: a static binary with views, static files and locales embedded.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/portal .

# Runtime: distroless, non-root. Production always sets DATABASE_URL and
# S3_ENDPOINT, so no PostgreSQL binaries are needed here.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portal /portal
USER nonroot:nonroot
ENV APP_ENV=production PORT=8080
EXPOSE 8080
ENTRYPOINT ["/portal"]
