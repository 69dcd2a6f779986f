// tt_gbench.cc — the C wrapper over Google Benchmark (the project's only C++ file). GB stays the timer: every
// benchmark is a GB benchmark whose body hands GB's whole iteration batch to a C callback; a custom reporter
// captures each repetition (for our statistics) and forwards everything to GB's own JSON/console reporters.
#include "tt_gbench.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#ifndef TT_GB_VERSION
#define TT_GB_VERSION "unknown"
#endif

namespace {

struct bench_entry {
    std::string name;
    tt_gb_fn fn;
    void *arg;
    double bytes_per_iter;
};

// GB's registry, flags and custom context are process-global: one run at a time.
std::mutex gb_mutex;

void copy_str(char *dst, size_t cap, const std::string &src)
{
    size_t n = std::min(cap - 1, src.size());
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
}

// Captures iteration (per-repetition) runs by benchmark name and forwards every call to GB's stock reporters, so
// the JSON file is exactly what GB itself writes.
class capture_reporter : public benchmark::BenchmarkReporter {
  public:
    capture_reporter(const std::vector<bench_entry> &benches, benchmark::BenchmarkReporter *json,
                     benchmark::BenchmarkReporter *console)
        : json_(json), console_(console), runs_(benches.size())
    {
        for (size_t i = 0; i < benches.size(); i++)
            index_[benches[i].name] = i;
    }

    bool ReportContext(const Context &context) override
    {
        bool ok = true;
        if (json_)
            ok = json_->ReportContext(context) && ok;
        if (console_)
            ok = console_->ReportContext(context) && ok;
        return ok;
    }

    void ReportRuns(const std::vector<Run> &report) override
    {
        if (json_)
            json_->ReportRuns(report);
        if (console_)
            console_->ReportRuns(report);
        for (const Run &r : report) {
            if (r.run_type != Run::RT_Iteration)
                continue; // aggregates: we compute our own from the samples (they exist for reps == 1 too)
            auto it = index_.find(r.run_name.function_name);
            if (it != index_.end())
                runs_[it->second].push_back(r);
        }
    }

    void Finalize() override
    {
        if (json_)
            json_->Finalize();
        if (console_)
            console_->Finalize();
    }

    const std::vector<std::vector<Run>> &runs() const { return runs_; }

  private:
    benchmark::BenchmarkReporter *json_, *console_;
    std::map<std::string, size_t> index_;
    std::vector<std::vector<Run>> runs_;
};

// Settings go through GB's own flag parser (Initialize), which is how GB 1.7.1 exposes them; everything that
// could leak in from BENCHMARK_* environment variables and change what reaches our reporter is pinned here.
void gb_configure(bool random_interleaving)
{
    std::string ri = std::string("--benchmark_enable_random_interleaving=") + (random_interleaving ? "true" : "false");
    // GB keeps argv[0] as Context::executable_name (printed in every report), so it must outlive this call.
    static char program_name[] = "tritune";
    std::vector<std::string> args = {ri,
                                     "--benchmark_report_aggregates_only=false",
                                     "--benchmark_display_aggregates_only=false",
                                     "--benchmark_list_tests=false",
                                     "--benchmark_out=",
                                     "--benchmark_format=console",
                                     "--benchmark_out_format=json",
                                     "--benchmark_color=false"};
    std::vector<char *> argv{program_name};
    for (auto &a : args)
        argv.push_back(&a[0]);
    argv.push_back(nullptr);
    int argc = (int)argv.size() - 1;
    benchmark::Initialize(&argc, argv.data());
}

} // namespace

struct tt_gb_session {
    std::vector<bench_entry> benches;
    std::vector<std::pair<std::string, std::string>> context;
    double min_time_s = 0;
    int repetitions = 1;
    bool random_interleaving = false;
    bool verbose = false;
    bool has_hook = false;
    tt_gb_counter_hook hook{};
    std::vector<tt_gb_stats> stats;
    std::vector<std::vector<double>> samples;
};

extern "C" {

tt_gb_session *tt_gb_new(void)
{
    return new (std::nothrow) tt_gb_session();
}

void tt_gb_free(tt_gb_session *s)
{
    delete s;
}

int tt_gb_add(tt_gb_session *s, const char *name, tt_gb_fn fn, void *arg, double bytes_per_iter)
{
    if (!s || !name || !fn) {
        tt_fail(TT_ERR_NULL, "tt_gb_add: %s is NULL", !s ? "session" : !name ? "name" : "fn");
        return -1;
    }
    size_t len = std::strlen(name);
    if (len == 0 || len >= TT_GB_NAME_MAX) {
        tt_fail(TT_ERR_VALUE, "tt_gb_add: benchmark name must be 1..%d characters, got %zu", TT_GB_NAME_MAX - 1,
                len);
        return -1;
    }
    for (const auto &b : s->benches)
        if (b.name == name) {
            // Results are matched back to benchmarks by name, so names must be unique in a session.
            tt_fail(TT_ERR_VALUE, "tt_gb_add: duplicate benchmark name \"%s\"", name);
            return -1;
        }
    try {
        s->benches.push_back(bench_entry{name, fn, arg, bytes_per_iter > 0 && std::isfinite(bytes_per_iter)
                                                            ? bytes_per_iter
                                                            : 0.0});
    } catch (...) {
        tt_fail(TT_ERR_NOMEM, "tt_gb_add: out of memory");
        return -1;
    }
    return (int)s->benches.size() - 1;
}

void tt_gb_set(tt_gb_session *s, double min_time_s, int repetitions, bool random_interleaving)
{
    if (!s)
        return;
    s->min_time_s = std::isfinite(min_time_s) && min_time_s > 0 ? min_time_s : 0;
    s->repetitions = repetitions >= 1 ? repetitions : 1;
    s->random_interleaving = random_interleaving;
}

void tt_gb_set_context(tt_gb_session *s, const char *key, const char *value)
{
    if (!s || !key || !*key)
        return;
    try {
        for (auto &kv : s->context)
            if (kv.first == key) {
                kv.second = value ? value : "";
                return;
            }
        s->context.emplace_back(key, value ? value : "");
    } catch (...) {
    }
}

void tt_gb_set_counters(tt_gb_session *s, const tt_gb_counter_hook *hook)
{
    if (!s)
        return;
    s->has_hook = hook && hook->start && hook->stop;
    s->hook = s->has_hook ? *hook : tt_gb_counter_hook{};
}

void tt_gb_set_verbose(tt_gb_session *s, bool verbose)
{
    if (s)
        s->verbose = verbose;
}

static void fill_stats(tt_gb_stats *st, const bench_entry &b, const std::vector<benchmark::BenchmarkReporter::Run> &runs,
                       std::vector<double> &samples)
{
    std::memset(st, 0, sizeof *st);
    copy_str(st->name, sizeof st->name, b.name);
    samples.clear();
    std::vector<std::pair<std::string, double>> csum;
    int counted = 0;
    for (const auto &r : runs) {
        if (r.error_occurred) {
            st->error = true;
            copy_str(st->error_message, sizeof st->error_message, r.error_message);
            continue;
        }
        // Unit(kNanosecond) was set, so the adjusted time is ns per iteration.
        samples.push_back(r.GetAdjustedRealTime());
        st->iterations = (int64_t)r.iterations;
        counted++;
        for (const auto &kv : r.counters) {
            auto it = std::find_if(csum.begin(), csum.end(), [&](const auto &p) { return p.first == kv.first; });
            if (it == csum.end())
                csum.emplace_back(kv.first, kv.second.value);
            else
                it->second += kv.second.value;
        }
    }
    st->reps = (int)samples.size();
    st->samples_ns = samples.empty() ? nullptr : samples.data();
    for (const auto &c : csum) {
        if (st->ncounters == TT_GB_MAX_COUNTERS)
            break;
        copy_str(st->counter_names[st->ncounters], TT_GB_COUNTER_NAME_MAX, c.first);
        st->counters[st->ncounters++] = c.second / counted;
    }
    if (samples.empty()) {
        if (!st->error) {
            st->error = true;
            copy_str(st->error_message, sizeof st->error_message, "no repetition was reported");
        }
        return;
    }
    std::vector<double> v(samples);
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    st->median_ns = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    st->min_ns = v.front();
    st->max_ns = v.back();
    double sum = 0;
    for (double x : v)
        sum += x;
    st->mean_ns = sum / n;
    double ss = 0;
    for (double x : v)
        ss += (x - st->mean_ns) * (x - st->mean_ns);
    // Sample standard deviation, as GB's _stddev aggregate computes it.
    st->stddev_ns = n > 1 ? std::sqrt(ss / (n - 1)) : 0;
    st->cv = st->mean_ns > 0 ? st->stddev_ns / st->mean_ns : 0;
}

static tt_status run_locked(tt_gb_session *s, const char *json_path)
{
    std::ofstream json_file;
    benchmark::JSONReporter json;
    benchmark::ConsoleReporter console(benchmark::ConsoleReporter::OO_None);
    if (json_path) {
        json_file.open(json_path, std::ios::out | std::ios::trunc);
        if (!json_file)
            return tt_fail(TT_ERR_IO, "tt_gb_run: cannot open %s for writing: %s", json_path, std::strerror(errno));
        json.SetOutputStream(&json_file);
        json.SetErrorStream(&std::cerr);
    }
    console.SetOutputStream(&std::cerr);
    console.SetErrorStream(&std::cerr);

    gb_configure(s->random_interleaving);
    auto *&ctx = benchmark::internal::GetGlobalContext();
    if (ctx)
        ctx->clear(); // another session's machine block must not leak into this one
    for (const auto &kv : s->context)
        benchmark::AddCustomContext(kv.first, kv.second);

    benchmark::ClearRegisteredBenchmarks();
    const bool has_hook = s->has_hook;
    const tt_gb_counter_hook hook = s->hook;
    for (const auto &b : s->benches) {
        const bench_entry e = b;
        auto *bm = benchmark::RegisterBenchmark(e.name.c_str(), [e, has_hook, hook](benchmark::State &st) {
            bool counting = has_hook && hook.start(hook.ctx);
            // One batch of GB's full iteration count: GB starts the timer on the first call and stops it on the
            // second, so the timed region is exactly the C loop.
            while (st.KeepRunningBatch(st.max_iterations))
                e.fn(e.arg, (int64_t)st.max_iterations);
            if (counting) {
                tt_gb_counter c[TT_GB_MAX_COUNTERS];
                int n = hook.stop(hook.ctx, (int64_t)st.iterations(), e.bytes_per_iter, c, TT_GB_MAX_COUNTERS);
                for (int i = 0; i < n && i < TT_GB_MAX_COUNTERS; i++) {
                    c[i].name[TT_GB_COUNTER_NAME_MAX - 1] = '\0';
                    st.counters[c[i].name] = benchmark::Counter(
                        c[i].value, c[i].per_iteration ? benchmark::Counter::kAvgIterations
                                                       : benchmark::Counter::kDefaults);
                }
            }
            if (e.bytes_per_iter > 0)
                st.SetBytesProcessed((int64_t)(e.bytes_per_iter * (double)st.iterations()));
        });
        // One GB/s definition everywhere (tables, reports, GB's own bytes_per_second, compare.py): bytes over wall
        // (real) time. Without UseRealTime GB divides SetBytesProcessed by the main thread's CPU time, which under
        // load or with the kernel's own worker threads is not the time the bytes took. GB then appends
        // "/real_time" to run names (the report and tritune compare strip it).
        bm->Unit(benchmark::kNanosecond)->Repetitions(s->repetitions)->UseRealTime();
        if (s->min_time_s > 0)
            bm->MinTime(s->min_time_s);
    }

    capture_reporter cap(s->benches, json_path ? &json : nullptr, s->verbose ? &console : nullptr);
    benchmark::RunSpecifiedBenchmarks(&cap, std::string("."));
    benchmark::ClearRegisteredBenchmarks();
    if (ctx)
        ctx->clear();

    s->stats.assign(s->benches.size(), tt_gb_stats{});
    s->samples.assign(s->benches.size(), std::vector<double>());
    for (size_t i = 0; i < s->benches.size(); i++)
        fill_stats(&s->stats[i], s->benches[i], cap.runs()[i], s->samples[i]);

    if (json_path) {
        json_file.flush();
        if (!json_file)
            return tt_fail(TT_ERR_IO, "tt_gb_run: writing %s failed", json_path);
    }
    return TT_OK;
}

tt_status tt_gb_run(tt_gb_session *s, const char *json_path)
{
    if (!s)
        return tt_fail(TT_ERR_NULL, "tt_gb_run: session is NULL");
    if (s->benches.empty())
        return tt_fail(TT_ERR_NOTFOUND, "tt_gb_run: no benchmarks were added");
    s->stats.clear();
    s->samples.clear();
    try {
        std::lock_guard<std::mutex> lock(gb_mutex);
        return run_locked(s, json_path);
    } catch (const std::bad_alloc &) {
        return tt_fail(TT_ERR_NOMEM, "tt_gb_run: out of memory");
    } catch (const std::exception &ex) {
        return tt_fail(TT_ERR_IO, "tt_gb_run: %s", ex.what());
    } catch (...) {
        return tt_fail(TT_ERR_IO, "tt_gb_run: unknown C++ exception");
    }
}

int tt_gb_count(const tt_gb_session *s)
{
    return s ? (int)s->benches.size() : 0;
}

const tt_gb_stats *tt_gb_get(const tt_gb_session *s, int i)
{
    if (!s || i < 0 || (size_t)i >= s->stats.size())
        return nullptr;
    return &s->stats[i];
}

const char *tt_gb_version(void)
{
    return TT_GB_VERSION;
}

} // extern "C"
