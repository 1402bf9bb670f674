package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config says where an S3-compatible service is and how to sign in.
type S3Config struct {
	Endpoint  string // host:port, without scheme
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string // empty means "us-east-1"
	UseTLS    bool
}

// S3 is a Store on one bucket of an S3-compatible service (AWS, MinIO,
// versitygw, …). The file name travels as URL-encoded user metadata because S3
// metadata must be ASCII.
type S3 struct {
	client *minio.Client
	bucket string
}

// fileNameMeta is the user-metadata name (x-amz-meta-filename) of Meta.FileName.
const fileNameMeta = "filename"

// NewS3 connects to the service and creates the bucket if it is missing.
// Rejected credentials fail here, not at the first upload.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("storage: s3 endpoint and bucket are required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseTLS,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: s3 client for %s: %w", cfg.Endpoint, err)
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("storage: s3 %s bucket %q: %w", cfg.Endpoint, cfg.Bucket, explain(err))
	}
	if !ok {
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		// Another instance may have created it meanwhile.
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return nil, fmt.Errorf("storage: s3 %s create bucket %q: %w", cfg.Endpoint, cfg.Bucket, explain(err))
		}
	}
	return &S3{client: client, bucket: cfg.Bucket}, nil
}

// explain names the usual cause of an authentication failure.
func explain(err error) error {
	switch minio.ToErrorResponse(err).Code {
	case minio.InvalidAccessKeyID, minio.SignatureDoesNotMatch, minio.AccessDenied,
		"XAdminUserNotFound": // versitygw's InvalidAccessKeyId
		return fmt.Errorf("credentials rejected (check access key and secret): %w", err)
	}
	return err
}

// Put implements Store.
//
// The upload is first copied, up to limit+1 bytes, into a 0600 temporary file
// that is removed before Put returns; only when it fits is it sent, with its
// exact size. Streaming with size -1 instead would make minio-go allocate a
// large part buffer and start a multipart upload before the limit is known,
// and an oversized upload would then rely on a best-effort abort (which fails
// if ctx is already cancelled) to leave nothing behind. The temporary file also
// gives minio-go a seekable body, so it can retry a failed request.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, limit int64, meta Meta) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	meta = cleanMeta(meta)
	f, err := os.CreateTemp("", "storage-upload-*")
	if err != nil {
		return Info{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := copyLimited(ctx, f, r, limit)
	if errors.Is(err, ErrTooLarge) {
		return Info{}, err
	}
	if err != nil {
		return Info{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Info{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	_, err = s.client.PutObject(ctx, s.bucket, key, f, size, minio.PutObjectOptions{
		ContentType:  meta.ContentType,
		UserMetadata: map[string]string{fileNameMeta: url.PathEscape(meta.FileName)},
	})
	if err != nil {
		return Info{}, unavailable("put", key, explain(err))
	}
	return s.Stat(ctx, key)
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.wrap("get", key, err)
	}
	oi, err := obj.Stat() // sends the GET; the body streams on Read
	if err != nil {
		obj.Close()
		return nil, Info{}, s.wrap("get", key, err)
	}
	return obj, s3Info(key, oi), nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.wrap("stat", key, err)
	}
	return s3Info(key, oi), nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && !errors.Is(s.wrap("delete", key, err), ErrNotFound) {
		return s.wrap("delete", key, err)
	}
	return nil
}

// Ping implements Store.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return unavailable("ping bucket", s.bucket, explain(err))
	}
	if !ok {
		return fmt.Errorf("%w: ping: bucket %q is missing", ErrUnavailable, s.bucket)
	}
	return nil
}

// List implements Store, with S3's listing (pages of 1,000 keys).
func (s *S3) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	// Cancelling stops minio-go's listing when fn stops the walk early.
	listCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for oi := range s.client.ListObjects(listCtx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if oi.Err != nil {
			return unavailable("list", prefix, explain(oi.Err))
		}
		if !ValidKey(oi.Key) {
			continue // not one of ours (a "directory" marker, say)
		}
		if err := fn(Info{Key: oi.Key, Size: oi.Size, ModTime: oi.LastModified}); err != nil {
			return fmt.Errorf("storage: list %q: %w", prefix, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: list %q: %w", prefix, err)
	}
	return nil
}

func (s *S3) wrap(op, key string, err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return unavailable(op, key, explain(err))
}

func s3Info(key string, oi minio.ObjectInfo) Info {
	var name string
	for k, v := range oi.UserMetadata {
		if strings.EqualFold(k, fileNameMeta) {
			if n, err := url.PathUnescape(v); err == nil {
				name = n
			}
		}
	}
	return Info{Key: key, Size: oi.Size, ContentType: oi.ContentType, FileName: name, ModTime: oi.LastModified}
}
