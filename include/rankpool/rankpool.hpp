#pragma once
// rankpool: Python's multiprocessing.Pool across the ranks and nodes of an MPI job.

#include "rankpool/async_result.hpp"
#include "rankpool/error.hpp"
#include "rankpool/imap.hpp"
#include "rankpool/options.hpp"
#include "rankpool/pool.hpp"
#include "rankpool/process.hpp"
#include "rankpool/process_info.hpp"
#include "rankpool/range.hpp"
#include "rankpool/resumable.hpp"
#include "rankpool/run.hpp"
#include "rankpool/sync.hpp"
#include "rankpool/version.hpp"
