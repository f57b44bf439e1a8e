# Multi-stage build: a static binary in a small, non-root image.
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bridgebot ./cmd/bridgebot \
 && CGO_ENABLED=0 go run ./cmd/bridgebot check

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bridgebot /bridgebot
USER nonroot:nonroot
ENTRYPOINT ["/bridgebot"]
CMD ["run"]
