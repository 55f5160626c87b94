// Roaring's portable serialisation (RoaringFormatSpec), read and written by
// the library itself so that untrusted bytes are checked completely before
// anything is allocated, and nothing is ever printed.
//
// Layout (all integers little-endian):
//   cookie   uint32 12346, then uint32 container count            (no run containers)
//         or uint16 12347, uint16 count - 1, run flags (count + 7) / 8 bytes
//   header   per container: uint16 key, uint16 cardinality - 1
//   offsets  per container: uint32 byte offset of its data from the start,
//            present without run containers or with at least 4 containers
//   data     array (cardinality <= 4096): cardinality x uint16, ascending
//            bitset (cardinality > 4096): 1024 x uint64
//            run: uint16 run count, then (uint16 start, uint16 length - 1) pairs
#include <bit>
#include <string>

#include "cdpcore/error.hpp"
#include "util/bitmap_impl.hpp"

namespace cdpcore {

namespace {

constexpr uint32_t kCookieNoRuns = 12346;
constexpr uint32_t kCookieRuns = 12347;
constexpr uint32_t kNoOffsetThreshold = 4;

inline uint16_t rd16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t rd32(const uint8_t* p) noexcept {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
inline uint64_t rd64(const uint8_t* p) noexcept { return uint64_t{rd32(p)} | (uint64_t{rd32(p + 4)} << 32); }
inline void wr16(uint8_t*& p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p += 2;
}
inline void wr32(uint8_t*& p, uint32_t v) noexcept {
  wr16(p, static_cast<uint16_t>(v));
  wr16(p, static_cast<uint16_t>(v >> 16));
}

[[noreturn]] void fail(const std::string& what, size_t offset) {
  throw ParseError("bitmap: " + what + " at byte " + std::to_string(offset), offset);
}

// The parsed frame of a portable bitmap: where each part starts.
struct Frame {
  uint32_t count = 0;
  bool has_runs = false;
  size_t run_flags = 0;  // offset of the run flags
  size_t header = 0;     // offset of the (key, card - 1) pairs
  size_t data = 0;       // offset of the first container's data
  bool has_offsets = false;
  size_t offsets = 0;
  bool is_run(const uint8_t* base, uint32_t i) const noexcept {
    return has_runs && ((base[run_flags + i / 8] >> (i % 8)) & 1);
  }
};

Frame read_frame(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  Frame f;
  if (n < 4) fail("truncated: " + std::to_string(n) + " bytes is shorter than the 4-byte cookie", n);
  uint32_t cookie = rd32(p);
  size_t pos;
  if ((cookie & 0xffff) == kCookieRuns) {
    f.has_runs = true;
    f.count = (cookie >> 16) + 1;
    f.run_flags = 4;
    pos = 4 + (size_t{f.count} + 7) / 8;
  } else if (cookie == kCookieNoRuns) {
    if (n < 8) fail("truncated container count", n);
    f.count = rd32(p + 4);
    if (f.count > 65536) fail("container count " + std::to_string(f.count) + " exceeds 65536", 4);
    pos = 8;
  } else {
    fail("not a Roaring portable bitmap (cookie " + std::to_string(cookie & 0xffff) + ")", 0);
  }
  f.header = pos;
  pos += size_t{f.count} * 4;
  f.has_offsets = !f.has_runs || f.count >= kNoOffsetThreshold;
  if (f.has_offsets) {
    f.offsets = pos;
    pos += size_t{f.count} * 4;
  }
  if (pos > n) fail("truncated header of " + std::to_string(f.count) + " containers", n);
  f.data = pos;
  return f;
}

}  // namespace

namespace bm {

size_t validate_portable(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  const size_t n = bytes.size();
  Frame f = read_frame(bytes);
  size_t pos = f.data;
  int32_t prev_key = -1;
  for (uint32_t i = 0; i < f.count; ++i) {
    size_t h = f.header + size_t{i} * 4;
    uint16_t key = rd16(p + h);
    uint32_t card = uint32_t{rd16(p + h + 2)} + 1;
    if (static_cast<int32_t>(key) <= prev_key) {
      fail("container keys not strictly increasing (key " + std::to_string(key) + " after " +
               std::to_string(prev_key) + ")",
           h);
    }
    prev_key = key;
    if (f.has_offsets) {
      uint32_t off = rd32(p + f.offsets + size_t{i} * 4);
      if (off != pos) {
        fail("offset of container " + std::to_string(i) + " is " + std::to_string(off) + ", expected " +
                 std::to_string(pos),
             f.offsets + size_t{i} * 4);
      }
    }
    if (f.is_run(p, i)) {
      if (pos + 2 > n) fail("truncated run container " + std::to_string(i), n);
      uint32_t nruns = rd16(p + pos);
      size_t start = pos;
      pos += 2;
      if (nruns == 0) fail("run container " + std::to_string(i) + " has no runs", start);
      if (pos + size_t{nruns} * 4 > n) fail("truncated run container " + std::to_string(i), n);
      uint64_t total = 0;
      int64_t prev_end = -1;
      for (uint32_t r = 0; r < nruns; ++r, pos += 4) {
        uint32_t s = rd16(p + pos), len = rd16(p + pos + 2);
        if (s + len > 65535) fail("run exceeds its 65536-value chunk", pos);
        if (static_cast<int64_t>(s) <= prev_end) fail("runs overlap or are out of order", pos);
        prev_end = s + len;
        total += len + 1;
      }
      if (total != card) {
        fail("run container " + std::to_string(i) + " holds " + std::to_string(total) + " values, header says " +
                 std::to_string(card),
             start);
      }
    } else if (card <= kArrayMax) {
      if (pos + size_t{card} * 2 > n) fail("truncated array container " + std::to_string(i), n);
      for (uint32_t k = 1; k < card; ++k) {
        if (rd16(p + pos + size_t{k} * 2) <= rd16(p + pos + size_t{k - 1} * 2))
          fail("array container values not strictly increasing", pos + size_t{k} * 2);
      }
      pos += size_t{card} * 2;
    } else {
      if (pos + kBitsetWords * 8 > n) fail("truncated bitset container " + std::to_string(i), n);
      uint64_t total = 0;
      for (uint32_t k = 0; k < kBitsetWords; ++k) total += static_cast<uint64_t>(std::popcount(rd64(p + pos + k * 8)));
      if (total != card) {
        fail("bitset container " + std::to_string(i) + " holds " + std::to_string(total) + " values, header says " +
                 std::to_string(card),
             pos);
      }
      pos += kBitsetWords * 8;
    }
  }
  return pos;
}

}  // namespace bm

size_t Bitmap::portable_size(std::span<const uint8_t> bytes) { return bm::validate_portable(bytes); }

Bitmap Bitmap::deserialize(std::span<const uint8_t> bytes) {
  bm::validate_portable(bytes);  // everything below may trust the bytes
  const uint8_t* p = bytes.data();
  Frame f = read_frame(bytes);
  Bitmap out;
  Impl& im = *out.impl_;
  im.keys.reserve(f.count);
  im.chunks.reserve(f.count);
  size_t pos = f.data;
  for (uint32_t i = 0; i < f.count; ++i) {
    size_t h = f.header + size_t{i} * 4;
    uint16_t key = rd16(p + h);
    uint32_t card = uint32_t{rd16(p + h + 2)} + 1;
    bm::Container c;
    if (f.is_run(p, i)) {
      uint32_t nruns = rd16(p + pos);
      pos += 2;
      c = bm::Container::runs(nruns);
      for (uint32_t r = 0; r < nruns; ++r, pos += 4) c.run_data()[r] = bm::Run{rd16(p + pos), rd16(p + pos + 2)};
      c.size = nruns;
      c.card = card;
    } else if (card <= bm::kArrayMax) {
      c = bm::Container::array(card);
      std::memcpy(c.values(), p + pos, size_t{card} * 2);
      if constexpr (std::endian::native == std::endian::big) {
        for (uint32_t k = 0; k < card; ++k) c.values()[k] = rd16(p + pos + size_t{k} * 2);
      }
      pos += size_t{card} * 2;
      c.size = c.card = card;
    } else {
      c = bm::Container::bitset_uninit();
      std::memcpy(c.words(), p + pos, bm::kBitsetWords * 8);
      if constexpr (std::endian::native == std::endian::big) {
        for (uint32_t k = 0; k < bm::kBitsetWords; ++k) c.words()[k] = rd64(p + pos + k * 8);
      }
      pos += bm::kBitsetWords * 8;
      c.card = card;
    }
    im.append(key, std::move(c));
  }
  return out;
}

size_t Bitmap::serialized_size() const noexcept {
  const Impl& im = *impl_;
  const size_t count = im.keys.size();
  bool has_runs = false;
  size_t data = 0;
  for (const bm::Container& c : im.chunks) {
    has_runs |= c.kind == bm::Kind::run;
    data += bm::portable_bytes(c);
  }
  if (!has_runs) return 8 + count * 8 + data;
  size_t head = 4 + (count + 7) / 8 + count * 4;
  if (count >= kNoOffsetThreshold) head += count * 4;
  return head + data;
}

std::vector<uint8_t> Bitmap::serialize() const {
  const Impl& im = *impl_;
  const uint32_t count = static_cast<uint32_t>(im.keys.size());
  std::vector<uint8_t> out(serialized_size());
  uint8_t* p = out.data();
  bool has_runs = false;
  for (const bm::Container& c : im.chunks) has_runs |= c.kind == bm::Kind::run;
  bool has_offsets = !has_runs || count >= kNoOffsetThreshold;
  if (has_runs) {
    // An empty bitmap never has run containers, so count >= 1 here.
    wr32(p, kCookieRuns | ((count - 1) << 16));
    std::memset(p, 0, (count + 7) / 8);
    for (uint32_t i = 0; i < count; ++i)
      if (im.chunks[i].kind == bm::Kind::run) p[i / 8] = static_cast<uint8_t>(p[i / 8] | (1u << (i % 8)));
    p += (count + 7) / 8;
  } else {
    wr32(p, kCookieNoRuns);
    wr32(p, count);
  }
  for (uint32_t i = 0; i < count; ++i) {
    wr16(p, im.keys[i]);
    wr16(p, static_cast<uint16_t>(im.chunks[i].card - 1));
  }
  if (has_offsets) {
    uint32_t off = static_cast<uint32_t>((p - out.data()) + size_t{count} * 4);
    for (uint32_t i = 0; i < count; ++i) {
      wr32(p, off);
      off += static_cast<uint32_t>(bm::portable_bytes(im.chunks[i]));
    }
  }
  for (const bm::Container& c : im.chunks) {
    switch (c.kind) {
      case bm::Kind::array:
        if constexpr (std::endian::native == std::endian::little) {
          std::memcpy(p, c.values(), size_t{c.size} * 2);
          p += size_t{c.size} * 2;
        } else {
          for (uint32_t k = 0; k < c.size; ++k) wr16(p, c.values()[k]);
        }
        break;
      case bm::Kind::bitset:
        if constexpr (std::endian::native == std::endian::little) {
          std::memcpy(p, c.words(), bm::kBitsetWords * 8);
          p += bm::kBitsetWords * 8;
        } else {
          for (uint32_t k = 0; k < bm::kBitsetWords; ++k) {
            wr32(p, static_cast<uint32_t>(c.words()[k]));
            wr32(p, static_cast<uint32_t>(c.words()[k] >> 32));
          }
        }
        break;
      case bm::Kind::run:
        wr16(p, static_cast<uint16_t>(c.size));
        for (uint32_t k = 0; k < c.size; ++k) {
          wr16(p, c.run_data()[k].start);
          wr16(p, c.run_data()[k].length);
        }
        break;
    }
  }
  return out;
}

}  // namespace cdpcore
