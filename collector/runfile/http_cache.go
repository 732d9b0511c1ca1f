package runfile

import (
	"container/list"
	"sync"
)

// blockSize is the unit a run file read over HTTP is fetched and cached
// in: requests start and end on its multiples, so that reading pass after
// pass does not download the same bytes twice.
const blockSize = 256 << 10

// blockCache keeps the blocks of a remote run file read so far, the least
// recently used dropped first once they take more than limit bytes. A
// block holds the bytes from its start up to where they have arrived: the
// last block of a growing file fills as the file grows.
type blockCache struct {
	mu     sync.Mutex
	limit  int64
	used   int64 // capacity of the blocks held
	blocks map[int64]*list.Element
	lru    list.List // of *block, the most recently used first
}

type block struct {
	index int64
	data  []byte // the block's bytes from its start; at most blockSize
}

func newBlockCache(limit int64) *blockCache {
	return &blockCache{limit: max(limit, 4*blockSize), blocks: map[int64]*list.Element{}}
}

// read copies into p the cached bytes from off on, stopping at the first
// byte not cached, and returns how many it copied.
func (c *blockCache) read(p []byte, off int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for n < len(p) {
		at := off + int64(n)
		e := c.blocks[at/blockSize]
		if e == nil {
			break
		}
		c.lru.MoveToFront(e)
		data := e.Value.(*block).data
		in := int(at % blockSize)
		if in >= len(data) {
			break
		}
		n += copy(p[n:], data[in:])
	}
	return n
}

// resume is where a fetch that is to go on from off, which is not cached,
// should start so that its bytes can be cached: where the block holding
// off is cached up to, or that block's start (a block is cached from its
// start).
func (c *blockCache) resume(off int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := off - off%blockSize
	if e := c.blocks[off/blockSize]; e != nil {
		return min(start+int64(len(e.Value.(*block).data)), off)
	}
	return start
}

// put caches b, the file's bytes at off. Bytes that would leave a hole in
// a block (its start was dropped meanwhile) are not kept: a later read
// fetches that block whole.
func (c *blockCache) put(off int64, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(b) > 0 {
		idx, in := off/blockSize, int(off%blockSize)
		take := min(len(b), blockSize-in)
		e := c.blocks[idx]
		if e == nil && in == 0 {
			e = c.lru.PushFront(&block{index: idx})
			c.blocks[idx] = e
		}
		if e != nil {
			c.lru.MoveToFront(e)
			blk := e.Value.(*block)
			if have := len(blk.data); in <= have && in+take > have {
				c.grow(blk, in+take)
				blk.data = append(blk.data, b[have-in:take]...)
			}
		}
		off += int64(take)
		b = b[take:]
	}
	c.evict()
}

// grow makes room in blk for n bytes, doubling up to blockSize so that a
// block filling as the file grows is not copied at every append, and never
// past it.
func (c *blockCache) grow(blk *block, n int) {
	if n <= cap(blk.data) {
		return
	}
	bigger := make([]byte, len(blk.data), min(blockSize, max(n, 2*cap(blk.data))))
	copy(bigger, blk.data)
	c.used += int64(cap(bigger) - cap(blk.data))
	blk.data = bigger
}

// evict drops the least recently used blocks until the cache is within its
// limit.
func (c *blockCache) evict() {
	for c.used > c.limit && c.lru.Len() > 1 {
		e := c.lru.Back()
		blk := e.Value.(*block)
		c.lru.Remove(e)
		delete(c.blocks, blk.index)
		c.used -= int64(cap(blk.data))
	}
}
