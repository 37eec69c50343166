#pragma once
// Resumable maps: a map whose finished chunks are journaled, so that a program killed by a time
// limit, kill -9 or a crash computes only the missing chunks when it is run again, and returns
// the same vector as a run that was never interrupted.
//
//   auto squares = rankpool::resumable_map(pool, f, inputs, "squares.journal");
//
// The inputs are cut into chunks of a fixed size (ResumeOptions::chunksize, recorded in the
// journal). The chunks the journal lacks go to the pool (through imap_unordered); each finished
// chunk's results are appended to the journal as one checksummed record (one write(2), so a kill
// of the process loses nothing written) and fsync'd within ResumeOptions::sync_interval; the vector
// is assembled from the journal and the new results. The journal's header identifies the map:
// the function, the input and result types, the number of inputs, a hash of the encoded inputs
// and the chunksize. Resuming with any of them different throws JournalError and leaves the
// journal as it was; a torn last record is dropped (its chunk runs again); any other damage
// throws JournalError. A complete journal answers without running any task. The journal stays
// after the map returns: delete it to compute the map again.
//
// Functions should be deterministic: a chunk that finished but was not yet journaled when the
// program died runs again on resume.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "rankpool/detail/callable.hpp"
#include "rankpool/detail/code_ref.hpp"
#include "rankpool/detail/jobs.hpp"
#include "rankpool/detail/resume_journal.hpp"
#include "rankpool/detail/serialize.hpp"
#include "rankpool/error.hpp"
#include "rankpool/pool.hpp"
#include "rankpool/process_info.hpp"

namespace rankpool {

struct ResumeOptions {
  /// Items per chunk, i.e. per journal record. Unset: the journal's own when resuming, about
  /// 1024 chunks (ceil(n / 1024) items) for a new journal. It never depends on the number of
  /// processes, so a map may be resumed on another number of ranks.
  std::optional<std::int64_t> chunksize;
  /// Records are written as soon as their chunk finishes (one write(2): a killed program loses
  /// none of them) and fsync'd at most this many seconds later (default 1), so an OS crash or a
  /// power loss may lose, and resuming recompute, the chunks of the last second. 0: fsync every
  /// record before going on (costs one fsync per chunk on the master; see the README).
  double sync_interval = 1.0;
  /// Empty (default): the function is identified by its code in this build (a rebuilt program
  /// counts as a different function, so its journal is refused). Non-empty: this name identifies
  /// it instead (with a lambda's captured values), so a rebuilt program may resume the journal;
  /// change the name when you change what the function computes.
  std::string function_id;
};

/// What a resumable map found and did.
struct ResumeReport {
  std::uint64_t chunksize = 0;
  std::uint64_t chunks = 0;               // in the whole map
  std::uint64_t chunks_from_journal = 0;  // taken from the journal
  std::uint64_t chunks_computed = 0;      // run by this call (and journaled)
  std::uint64_t torn_bytes = 0;           // a torn last record dropped when the journal opened
  std::uint64_t syncs = 0;                // fsync calls for chunk records
};

namespace detail {

/// What a resumable map's task returns for one chunk.
struct ResumeChunkOutcome {
  std::uint64_t chunk = 0;
  std::vector<char> results;  // encoded as a task's results are (raw bytes or cereal)
  bool failed = false;
  std::uint64_t failed_offset = 0;  // within the chunk
  std::string error_type;
  std::string error_message;
  std::string host;
  int rank = 0;
  template <class A>
  void serialize(A& ar) {
    ar(chunk, results, failed, failed_offset, error_type, error_message, host, rank);
  }
};

template <class T>
using ResumeChunkInput = std::pair<std::uint64_t, std::vector<T>>;

/// The missing chunks' inputs, built one chunk at a time as imap pulls them.
template <class Range, class T>
class MissingChunks {
 public:
  MissingChunks(const Range* inputs, const std::vector<std::uint64_t>* missing,
                std::uint64_t chunksize, std::uint64_t items)
      : inputs_(inputs), missing_(missing), chunksize_(chunksize), items_(items) {}

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = ResumeChunkInput<T>;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    iterator(const MissingChunks* owner, std::size_t pos) : owner_(owner), pos_(pos) {}
    value_type operator*() const {
      const std::uint64_t chunk = (*owner_->missing_)[pos_];
      const std::uint64_t first = chunk * owner_->chunksize_;
      const std::uint64_t last = std::min(first + owner_->chunksize_, owner_->items_);
      value_type v{chunk, {}};
      v.second.reserve(last - first);
      auto it = std::begin(*owner_->inputs_) + static_cast<std::ptrdiff_t>(first);
      for (std::uint64_t i = first; i < last; ++i, ++it) v.second.push_back(*it);
      return v;
    }
    iterator& operator++() {
      ++pos_;
      return *this;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.pos_ == b.pos_; }
    friend bool operator!=(const iterator& a, const iterator& b) { return a.pos_ != b.pos_; }

   private:
    const MissingChunks* owner_;
    std::size_t pos_;
  };

  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, missing_->size()); }

 private:
  const Range* inputs_;
  const std::vector<std::uint64_t>* missing_;
  std::uint64_t chunksize_;
  std::uint64_t items_;
};

/// Decodes `count` results encoded as a chunk's (raw bytes or a cereal stream) into dest.
template <class R, class It>
void decode_resume_results(const char* data, std::size_t size, It dest, std::uint64_t count) {
  if constexpr (is_raw_array_v<R>) {
    if (size != count * sizeof(R)) {
      throw SerializationError("rankpool: a chunk's results have " + std::to_string(size) +
                               " bytes, expected " + std::to_string(count * sizeof(R)));
    }
    if (count != 0) std::memcpy(&*dest, data, size);
  } else {
    Reader reader(data, size);
    for (std::uint64_t i = 0; i < count; ++i, ++dest) {
      R value{};
      reader(value);
      *dest = std::move(value);
    }
    if (reader.remaining() != 0) {
      throw SerializationError("rankpool: a chunk's results have " +
                               std::to_string(reader.remaining()) + " trailing bytes");
    }
  }
}

/// The map's identity: what its journal must match.
template <bool Star, class F, class T, class R, class Get>
MapIdentity resume_identity(const F& f, Get&& get, std::uint64_t n, const ResumeOptions& options) {
  MapIdentity id;
  std::vector<char> callable;
  encode_callable(f, callable);
  Hash64 fh;
  const char star = Star ? 1 : 0;
  fh.update(&star, 1);
  if (options.function_id.empty()) {
    const std::uint64_t build = build_fingerprint();
    fh.update(&build, sizeof build);
    fh.update(callable.data(), callable.size());  // a function's code offset, a lambda's captures
    id.function_type = typeid(F).name();
  } else {
    fh.update(options.function_id.data(), options.function_id.size());
    if constexpr (!is_function_pointer_v<F>) fh.update(callable.data(), callable.size());
    id.function_type = "id:" + options.function_id;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fh.digest()));
  id.function = hex;
  id.input_type = typeid(T).name();
  id.result_type = typeid(R).name();
  id.items = n;
  // The inputs as a task would receive them, hashed in blocks (independent of the chunksize).
  Hash64 ih;
  std::vector<char> block;
  constexpr std::uint64_t block_items = 4096;
  for (std::uint64_t first = 0; first < n; first += block_items) {
    const std::uint64_t count = std::min(block_items, n - first);
    block.clear();
    encode_inputs<T>(get, first, count, block);
    ih.update(block.data(), block.size());
  }
  id.input_hash = ih.digest();
  if (options.chunksize) id.chunksize = static_cast<std::uint64_t>(*options.chunksize);
  return id;
}

template <bool Star, class F, class Range>
auto resumable_map_run(Pool& pool, F f, const Range& inputs, const std::string& path,
                       const ResumeOptions& options, ResumeReport* report) {
  using T = range_value_t<const Range>;
  using R = item_result_t<F, T, Star>;
  static_assert(check_task_types<T, R>());
  if (options.chunksize && *options.chunksize <= 0) {
    throw ValueError("rankpool: resumable map chunksize must be positive, got " +
                     std::to_string(*options.chunksize));
  }
  if (!(options.sync_interval >= 0) || !std::isfinite(options.sync_interval)) {
    throw ValueError(
        "rankpool: ResumeOptions::sync_interval must be a finite number of seconds "
        ">= 0");
  }
  const auto n = static_cast<std::uint64_t>(std::distance(std::begin(inputs), std::end(inputs)));
  auto get = [&](std::uint64_t i) -> decltype(auto) {
    return *(std::begin(inputs) + static_cast<std::ptrdiff_t>(i));
  };

  ResumeJournal journal(path, resume_identity<Star, F, T, R>(f, get, n, options),
                        options.sync_interval);
  const std::uint64_t cs = journal.identity().chunksize;
  const std::uint64_t nchunks = (n + cs - 1) / cs;
  auto chunk_items = [&](std::uint64_t c) { return std::min(cs, n - c * cs); };

  std::vector<R> results(n);
  auto dest = [&](std::uint64_t c) {
    return results.begin() + static_cast<std::ptrdiff_t>(c * cs);
  };
  std::vector<char> done(nchunks, 0);
  std::uint64_t from_journal = 0;
  for (std::size_t k = 0; k < journal.records().size(); ++k) {
    const std::size_t number = k + 1;
    ChunkRecord rec = decode_chunk_record(journal.records()[k], path, number);
    if (rec.chunk >= nchunks || rec.count != chunk_items(rec.chunk)) {
      throw JournalError("rankpool: resumable map journal " + path + " is damaged: record " +
                         std::to_string(number) + " holds chunk " + std::to_string(rec.chunk) +
                         " with " + std::to_string(rec.count) + " items, but the map has " +
                         std::to_string(nchunks) + " chunks of " + std::to_string(cs) +
                         " items. Move the file away to recompute the map from scratch");
    }
    if (done[rec.chunk]) continue;
    try {
      decode_resume_results<R>(rec.results.data(), rec.results.size(), dest(rec.chunk), rec.count);
    } catch (const SerializationError& e) {
      throw JournalError("rankpool: resumable map journal " + path + ": record " +
                         std::to_string(number) + " (chunk " + std::to_string(rec.chunk) +
                         ") does not decode as the map's result type (" + e.what() +
                         "). Move the file away to recompute the map from scratch");
    }
    done[rec.chunk] = 1;
    ++from_journal;
  }

  std::vector<std::uint64_t> missing;
  for (std::uint64_t c = 0; c < nchunks; ++c) {
    if (!done[c]) missing.push_back(c);
  }
  std::uint64_t computed = 0;
  std::optional<ResumeChunkOutcome> failure;
  std::uint64_t failure_index = 0;
  if (!missing.empty()) {
    auto task = [fn = portable(f)](const ResumeChunkInput<T>& in) {
      using Fn = decltype(fn);
      Fn g = fn;
      ResumeChunkOutcome out;
      out.chunk = in.first;
      const std::uint64_t count = in.second.size();
      std::uint64_t i = 0;
      try {
        if constexpr (is_raw_array_v<R>) {
          out.results.resize(count * sizeof(R));
          for (; i < count; ++i) {
            const R r = invoke_item<Fn, T, Star>(g, in.second[i]);
            std::memcpy(out.results.data() + i * sizeof(R), &r, sizeof(R));
          }
        } else {
          Writer writer(out.results);
          for (; i < count; ++i) {
            const R r = invoke_item<Fn, T, Star>(g, in.second[i]);
            writer(r);
          }
        }
      } catch (...) {
        out.results.clear();
        out.failed = true;
        out.failed_offset = i;
        describe_current_exception(out.error_type, out.error_message);
        out.rank = current_process().rank;
        out.host = current_process().host;
      }
      return out;
    };
    auto stream = pool.imap_unordered(task, MissingChunks<Range, T>(&inputs, &missing, cs, n), 1);
    for (;;) {
      std::optional<ResumeChunkOutcome> o = stream.next();
      if (!o) break;
      if (o->chunk >= nchunks) {
        throw Error("rankpool: a resumable map received chunk " + std::to_string(o->chunk) +
                    " of " + std::to_string(nchunks) + "; this is a bug in rankpool");
      }
      if (done[o->chunk]) continue;  // a second result for a chunk: the first one stands
      if (o->failed) {
        const std::uint64_t index = o->chunk * cs + o->failed_offset;
        if (!failure || index < failure_index) {
          failure_index = index;
          failure = std::move(o);
        }
        continue;
      }
      const std::uint64_t count = chunk_items(o->chunk);
      decode_resume_results<R>(o->results.data(), o->results.size(), dest(o->chunk), count);
      journal.append(o->chunk, count, o->results);
      done[o->chunk] = 1;
      ++computed;
    }
  }
  journal.commit();
  if (report) {
    report->chunksize = cs;
    report->chunks = nchunks;
    report->chunks_from_journal = from_journal;
    report->chunks_computed = computed;
    report->torn_bytes = journal.torn_bytes();
    report->syncs = journal.syncs();
  }
  if (failure) {
    throw RemoteError(std::move(failure->error_type), std::move(failure->error_message),
                      failure->rank, std::move(failure->host), failure_index);
  }
  return results;
}

template <bool Star, class F, class Range>
auto resumable_map_impl(Pool& pool, F f, const Range& inputs, const std::string& path,
                        const ResumeOptions& options, ResumeReport* report) {
  require_shippable<F>();
  if constexpr (is_random_access_range<const Range>::value) {
    return resumable_map_run<Star>(pool, f, inputs, path, options, report);
  } else {
    using T = range_value_t<const Range>;
    const std::vector<T> copy(std::begin(inputs), std::end(inputs));
    return resumable_map_run<Star>(pool, f, copy, path, options, report);
  }
}

}  // namespace detail

/// pool.map(f, inputs), journaled in `journal` (a file path) so that a rerun of an interrupted
/// map computes only the chunks the journal lacks. Returns the same vector as pool.map. Throws
/// JournalError when the journal belongs to another map or is damaged (the file is then left
/// as it was), and the RemoteError of the first failing input (in input order) after every
/// other chunk has finished and been journaled. `report`, when given, says what was done.
template <class F, class Range>
auto resumable_map(Pool& pool, F f, const Range& inputs, const std::string& journal,
                   const ResumeOptions& options = ResumeOptions{}, ResumeReport* report = nullptr) {
  return detail::resumable_map_impl<false>(pool, f, inputs, journal, options, report);
}

/// resumable_map with each input a tuple whose elements are f's arguments (as starmap).
template <class F, class Range>
auto resumable_starmap(Pool& pool, F f, const Range& inputs, const std::string& journal,
                       const ResumeOptions& options = ResumeOptions{},
                       ResumeReport* report = nullptr) {
  return detail::resumable_map_impl<true>(pool, f, inputs, journal, options, report);
}

}  // namespace rankpool
