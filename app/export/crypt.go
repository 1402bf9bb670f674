package export

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// An export is kept encrypted under a key of its own (made for it, sealed
// with ENCRYPTION_KEYS in its row): a file of any size is read and written
// in chunks, never whole. Each chunk is AES-256-GCM with a random nonce,
// and its additional data binds it to the export, to its place, and to
// whether it is the last: chunks cannot be reordered, moved to another
// export, or cut off at the end without the reader noticing.
//
//	file  = magic chunk...
//	chunk = length (4 bytes, of the sealed chunk) nonce (12) sealed (plain + 16)

const (
	magic     = "PEX1"
	chunkSize = 64 << 10
)

// ErrDamaged is a file that does not open with its key.
var ErrDamaged = errors.New("export: the file is damaged or not this export's")

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func chunkData(id int64, n uint64, last bool) []byte {
	ad := make([]byte, 17)
	binary.BigEndian.PutUint64(ad, uint64(id))
	binary.BigEndian.PutUint64(ad[8:], n)
	if last {
		ad[16] = 1
	}
	return ad
}

// encrypt writes src to dst, encrypted for export id under key.
func encrypt(dst io.Writer, src io.Reader, key []byte, id int64) error {
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(dst, magic); err != nil {
		return err
	}
	// One chunk is read ahead, so the last one is known to be the last.
	cur, next := make([]byte, chunkSize), make([]byte, chunkSize)
	n, err := io.ReadFull(src, cur)
	for i := uint64(0); ; i++ {
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return err
		}
		last := err != nil
		var m int
		var nextErr error
		if !last {
			m, nextErr = io.ReadFull(src, next)
			last = m == 0 && errors.Is(nextErr, io.EOF)
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return err
		}
		sealed := aead.Seal(nil, nonce, cur[:n], chunkData(id, i, last))
		head := binary.BigEndian.AppendUint32(nil, uint32(len(sealed)))
		if _, err := dst.Write(append(append(head, nonce...), sealed...)); err != nil {
			return err
		}
		if last {
			return nil
		}
		cur, next = next, cur
		n, err = m, nextErr
	}
}

// decrypter reads an export encrypted by encrypt.
type decrypter struct {
	src  io.Reader
	aead cipher.AEAD
	id   int64
	n    uint64
	buf  []byte // plain bytes not yet read
	done bool   // the last chunk has been read
}

// decrypt returns a reader of the plain export read from src.
func decrypt(src io.Reader, key []byte, id int64) (io.Reader, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(src, head); err != nil || string(head) != magic {
		return nil, ErrDamaged
	}
	return &decrypter{src: src, aead: aead, id: id}, nil
}

func (d *decrypter) Read(p []byte) (int, error) {
	for len(d.buf) == 0 {
		if d.done {
			return 0, io.EOF
		}
		if err := d.chunk(); err != nil {
			return 0, err
		}
	}
	n := copy(p, d.buf)
	d.buf = d.buf[n:]
	return n, nil
}

// chunk opens the next chunk, as the last one or not: a chunk that opens
// as neither is damaged (or cut off).
func (d *decrypter) chunk() error {
	var head [4]byte
	if _, err := io.ReadFull(d.src, head[:]); err != nil {
		return ErrDamaged
	}
	size := binary.BigEndian.Uint32(head[:])
	if size < 16 || size > chunkSize+16 {
		return ErrDamaged
	}
	body := make([]byte, d.aead.NonceSize()+int(size))
	if _, err := io.ReadFull(d.src, body); err != nil {
		return ErrDamaged
	}
	nonce, sealed := body[:d.aead.NonceSize()], body[d.aead.NonceSize():]
	for _, last := range []bool{false, true} {
		if plain, err := d.aead.Open(nil, nonce, sealed, chunkData(d.id, d.n, last)); err == nil {
			d.buf, d.done = plain, last
			d.n++
			return nil
		}
	}
	return fmt.Errorf("%w (chunk %d)", ErrDamaged, d.n)
}
