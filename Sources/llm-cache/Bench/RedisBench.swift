import ArgumentParser
import Foundation
import LLMCache
import LLMCacheRedis
import NIOCore
import Synchronization

/// `llm-cache bench redis`: our client against redis-benchmark in the same run,
/// and how long tag invalidation ever blocks Redis.
struct RedisBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "GET/SET throughput against redis-benchmark, and the longest Redis stall during tag invalidation."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Benchmark this server instead of starting a private redis-server on a free loopback port (its data is not touched outside the bench: keys under 'llmcache-bench:').")
    var redis: String?

    @Option(help: "Entries per invalidation batch (RedisStore.Configuration.batchSize) in the tag invalidation figures; default the store's default.")
    var batchSize: Int?

    func run() async throws {
        var report = BenchReport(benchmark: "redis")
        let server: BenchRedisServer?
        let url: String
        if let redis {
            server = nil
            url = redis
        } else {
            let started = try await BenchRedisServer.start()
            server = started
            url = "redis://127.0.0.1:\(started.port)"
        }
        do {
            try await measure(url: url, serverPID: server?.pid, into: &report)
            await server?.stop()
        } catch {
            await server?.stop()
            throw error
        }
        report.print(json: options.json)
    }

    /// - Parameter serverPID: the redis-server the bench started, whose
    ///   scheduling it can read from /proc; nil for a server given with --redis.
    private func measure(url: String, serverPID: Int32?, into report: inout BenchReport) async throws {
        var configuration = try RedisClient.Configuration(url: url)
        // On a loaded machine a 2 s stall is scheduling, not Redis: the bench
        // measures throughput and stalls, and must not abort on them.
        configuration.timeouts.command = .seconds(30)
        let client = try RedisClient(configuration: configuration)
        defer { Task { await client.shutdown() } }
        let operations = options.quick ? 20_000 : 200_000
        let value = ByteBuffer(repeating: 0x78, count: 1024)
        let key = "llmcache-bench:key"

        // Warm the pool's connections before timing.
        _ = try await concurrently(tasks: 50, operations: 5_000) { _ in try await client.send("SET", key, value) }

        // Each round runs redis-benchmark and then our client back to back, and
        // a ratio is taken within a round: on a shared machine the load drifts
        // over a run, and one reference measured minutes before our figure
        // compares two different machines. The medians over rounds are reported.
        let rounds = options.quick ? 1 : 3
        var sets: [Double] = [], gets: [Double] = [], pipelines: [Double] = []
        var setRatios: [Double] = [], getRatios: [Double] = [], pipelineRatios: [Double] = []
        var theirSets: [Double] = [], theirGets: [Double] = [], theirPipelines: [Double] = []
        // CPU time of this whole process (every thread) per operation: unlike
        // ops/s, it barely moves with the load other work puts on the machine.
        var setCPU: [Double] = [], getCPU: [Double] = [], pipelineCPU: [Double] = []
        for round in 1...rounds {
            progress("round \(round)/\(rounds): redis-benchmark -t get,set -d 1024 -c 50 -n \(operations), then ours")
            let reference = try runRedisBenchmark(configuration, ["-t", "get,set", "-d", "1024", "-c", "50", "-n", "\(operations)"])
            var cpuStart = EmbedBench.processCPUMilliseconds()
            let set = try await concurrently(tasks: 50, operations: operations) { _ in try await client.send("SET", key, value) }
            setCPU.append((EmbedBench.processCPUMilliseconds() - cpuStart) * 1000 / Double(operations))
            cpuStart = EmbedBench.processCPUMilliseconds()
            let get = try await concurrently(tasks: 50, operations: operations) { _ in
                guard try await client.send("GET", key).bytes?.readableBytes == 1024 else { throw ValidationError("GET returned the wrong value") }
            }
            getCPU.append((EmbedBench.processCPUMilliseconds() - cpuStart) * 1000 / Double(operations))
            progress("round \(round)/\(rounds): redis-benchmark -t get -d 1024 -c 50 -P 16 -n \(operations * 4), then ours")
            let pipelinedReference = try runRedisBenchmark(configuration, ["-t", "get", "-d", "1024", "-c", "50", "-P", "16", "-n", "\(operations * 4)"])
            let batches = operations * 4 / 16
            cpuStart = EmbedBench.processCPUMilliseconds()
            let pipelined = try await concurrently(tasks: 50, operations: batches) { _ in
                let replies = try await client.pipeline(Array(repeating: RedisCommand("GET", key), count: 16))
                guard replies.count == 16 else { throw ValidationError("a pipeline lost replies") }
            } * 16
            pipelineCPU.append((EmbedBench.processCPUMilliseconds() - cpuStart) * 1000 / Double(batches * 16))
            sets.append(set)
            gets.append(get)
            pipelines.append(pipelined)
            if let theirs = reference["SET"] { theirSets.append(theirs); setRatios.append(set / theirs) }
            if let theirs = reference["GET"] { theirGets.append(theirs); getRatios.append(get / theirs) }
            if let theirs = pipelinedReference["GET"] { theirPipelines.append(theirs); pipelineRatios.append(pipelined / theirs) }
            progress(String(format: "round %d: p16 ours %.0f, redis-benchmark %.0f ops/s; our CPU %.2f us/GET", round, pipelined, pipelinedReference["GET"] ?? .nan, pipelineCPU[pipelineCPU.count - 1]))
        }

        report.add("redis.set.c50", median(sets), "ops/s")
        report.add("redis.get.c50", median(gets), "ops/s")
        report.add("redis.get.p16", median(pipelines), "ops/s")
        report.add("redis.set.c50.client_cpu_per_op", median(setCPU), "us")
        report.add("redis.get.c50.client_cpu_per_op", median(getCPU), "us")
        report.add("redis.get.p16.client_cpu_per_op", median(pipelineCPU), "us")
        if !setRatios.isEmpty {
            report.add("redis_benchmark.set.c50", median(theirSets), "ops/s")
            report.add("redis.set.c50.vs_redis_benchmark", median(setRatios), "ratio")
        }
        if !getRatios.isEmpty {
            report.add("redis_benchmark.get.c50", median(theirGets), "ops/s")
            report.add("redis.get.c50.vs_redis_benchmark", median(getRatios), "ratio")
        }
        if !pipelineRatios.isEmpty {
            report.add("redis_benchmark.get.p16", median(theirPipelines), "ops/s")
            report.add("redis.get.p16.vs_redis_benchmark", median(pipelineRatios), "ratio")
            report.add("redis.get.p16.vs_redis_benchmark.min", pipelineRatios.min()!, "ratio")
        }
        try await client.send("DEL", key)

        try await measureTagInvalidation(configuration: configuration, serverPID: serverPID, into: &report)
        try await measureTieredHits(configuration: configuration, into: &report)
    }

    /// Hits answered by the tiered store's memory tier against the same lookups
    /// on a bare MemoryStore, one task. `tiered.l1hit.vs_memory` is the cost
    /// of a tiered hit over a bare one (time per hit), median of five
    /// alternating pairs.
    private func measureTieredHits(configuration: RedisClient.Configuration, into report: inout BenchReport) async throws {
        let client = try RedisClient(configuration: configuration)
        defer { Task { await client.shutdown() } }
        let redis = try RedisStore(client: client, configuration: .init(keyPrefix: "llmcache-bench-tiered:"))
        let tiered = TieredStore(memory: MemoryStore(), redis: redis)
        let subscription = Task { try await tiered.run() }
        defer { subscription.cancel() }
        for _ in 0..<500 where !tiered.isSubscribed { try await Task.sleep(for: .milliseconds(10)) }
        guard tiered.isSubscribed else { throw ValidationError("the tiered store could not subscribe to its invalidation channel") }
        let bare = MemoryStore()
        let now = SystemCacheClock().now()
        let keys = (0..<1024).map { CacheKey(hashing: Array("tiered-\($0)".utf8)) }
        for key in keys {
            let entry = CacheEntry(key: key, value: Data(repeating: 0x61, count: 1024), createdAt: now)
            try await tiered.set(entry)
            try await bare.set(entry)
        }
        for key in keys { _ = try await tiered.get(key) }
        let rounds = options.quick ? 200 : 2_000
        func hitsPerSecond(_ store: any CacheStore) async throws -> Double {
            let clock = ContinuousClock()
            let start = clock.now
            var hits = 0
            for _ in 0..<rounds {
                for key in keys where try await store.get(key) != nil { hits += 1 }
            }
            guard hits == rounds * keys.count else { throw ValidationError("\(rounds * keys.count - hits) lookups missed") }
            return Double(hits) / (clock.now - start).seconds
        }
        // Alternating pairs, the ratio taken within each: the machine's load
        // changes between pairs more than within one.
        var memoryRates: [Double] = [], tieredRates: [Double] = [], costRatios: [Double] = []
        for _ in 0..<5 {
            let memoryRate = try await hitsPerSecond(bare)
            let tieredRate = try await hitsPerSecond(tiered)
            memoryRates.append(memoryRate)
            tieredRates.append(tieredRate)
            costRatios.append(memoryRate / tieredRate)
        }
        try await redis.invalidate(.all)
        report.add("tiered.l1hit", median(tieredRates), "ops/s")
        report.add("memory.hit.bare", median(memoryRates), "ops/s")
        // As the target states it: the time of a tiered L1 hit over a plain
        // MemoryStore hit, so lower is better (≤ 1.2).
        report.add("tiered.l1hit.vs_memory", median(costRatios), "ratio")
    }

    /// Fills a tag with entries, then invalidates it while a second connection
    /// PINGs once a millisecond (as `redis-cli --latency` does, but finer).
    ///
    /// Figures, all for the invalidation's span:
    /// - `max_block`: the longest command Redis ran, from SLOWLOG (commands of
    ///   100 µs or more). This is the time no other client was served.
    /// - `script_max`, `batch_block`, `batch_p99`: the longest, median and 99th
    ///   percentile of the store's script calls (one per batch), from SLOWLOG.
    /// - `redis_cpu_per_batch`: CPU time of Redis's main thread (INFO cpu) per
    ///   script call: what a batch costs with no other process in the way.
    /// - `redis_runqueue_wait`: when the bench started the server, how long its
    ///   main thread was ready to run but had no CPU (/proc schedstat). SLOWLOG
    ///   measures wall time, so a command that is descheduled counts that time.
    /// - `ping_max`: the longest PING round trip, which adds the client's own
    ///   scheduling to Redis's.
    private func measureTagInvalidation(configuration: RedisClient.Configuration, serverPID: Int32?, into report: inout BenchReport) async throws {
        let count = options.quick ? 10_000 : 100_000
        let label = options.quick ? "10k" : "100k"
        let client = try RedisClient(configuration: configuration)
        let prober = try RedisClient(configuration: configuration)
        defer { Task { await client.shutdown(); await prober.shutdown() } }
        var storeConfiguration = RedisStore.Configuration(keyPrefix: "llmcache-bench:")
        if let batchSize { storeConfiguration.batchSize = batchSize }
        let store = try RedisStore(client: client, configuration: storeConfiguration)
        try await store.invalidate(.all)
        progress("storing \(count) tagged entries")
        let now = SystemCacheClock().now()
        let value = Data(repeating: 0x61, count: 256)
        _ = try await concurrently(tasks: 50, operations: count) { index in
            try await store.set(CacheEntry(key: CacheKey(hashing: Array("bench-\(index)".utf8)), value: value, namespace: "bench", model: "gpt-4o", tags: ["release"], createdAt: now))
        }

        let slowlogSettings = try await client.send("CONFIG", "GET", "slowlog-*").elements?.compactMap(\.string) ?? []
        // Log commands of 100 µs or more: every batch, not the PINGs. Not 0:
        // Redis also logs the commands a script calls, and logging each of
        // them would slow the scripts measured and overflow the log.
        try await client.send("CONFIG", "SET", "slowlog-log-slower-than", "100")
        try await client.send("CONFIG", "SET", "slowlog-max-len", "200000")
        try await client.send("SLOWLOG", "RESET")

        let done = SharedCounter()
        let pinger = Task {
            let clock = ContinuousClock()
            var longest = Duration.zero
            while done.value.load(ordering: .relaxed) == 0 {
                let start = clock.now
                try await prober.send("PING")
                longest = max(longest, clock.now - start)
                // A PING loop without pauses competes with Redis for the CPU
                // on a small machine and lengthens the stalls it measures.
                try await Task.sleep(for: .milliseconds(1))
            }
            return longest
        }
        let cpuBefore = try await redisMainThreadCPU(client)
        let scheduleBefore = serverPID.flatMap(Self.schedule(of:))
        let clock = ContinuousClock()
        let start = clock.now
        let removed = try await store.invalidate(.tag("release"))
        let elapsed = clock.now - start
        let scheduleAfter = serverPID.flatMap(Self.schedule(of:))
        let cpuAfter = try await redisMainThreadCPU(client)
        done.value.store(1, ordering: .relaxed)
        let longestPing = try await pinger.value
        guard removed == count else { throw ValidationError("invalidation removed \(removed) of \(count) entries") }

        let log = try await client.send("SLOWLOG", "GET", "-1").elements ?? []
        // Each SLOWLOG entry: id, time, duration (us), arguments, ...
        let logged = log.compactMap { entry -> (duration: Int, command: String)? in
            guard let fields = entry.elements, fields.count > 3, let duration = fields[2].int else { return nil }
            return (duration, fields[3].elements?.first?.string ?? "?")
        }
        // The bench's own SLOWLOG RESET, CONFIG and INFO calls are not the store's.
        let storeCommands = logged.filter { !["SLOWLOG", "CONFIG", "INFO"].contains($0.command.uppercased()) }
        let longestCommand = storeCommands.map(\.duration).max() ?? 0
        let scriptDurations = storeCommands.filter { $0.command.uppercased() == "EVALSHA" }.map(\.duration).sorted()
        if let longest = storeCommands.max(by: { $0.duration < $1.duration }) {
            let counts = Dictionary(grouping: logged, by: { $0.command.uppercased() }).mapValues(\.count)
            progress("longest command during invalidation: \(longest.command), \(longest.duration) us; logged: \(counts.sorted { $0.key < $1.key })")
        }
        var index = 0
        while index + 1 < slowlogSettings.count {
            try await client.send("CONFIG", "SET", slowlogSettings[index], slowlogSettings[index + 1])
            index += 2
        }
        try await client.send("SLOWLOG", "RESET")

        let name = "redis.tag_invalidate.\(label)"
        report.add("\(name).max_block", Double(longestCommand) / 1000, "ms")
        if !scriptDurations.isEmpty {
            report.add("\(name).script_max", Double(scriptDurations[scriptDurations.count - 1]) / 1000, "ms")
            report.add("\(name).batch_block", Double(scriptDurations[scriptDurations.count / 2]) / 1000, "ms")
            report.add("\(name).batch_p99", Double(scriptDurations[scriptDurations.count * 99 / 100]) / 1000, "ms")
            report.add("\(name).redis_cpu_per_batch", (cpuAfter - cpuBefore).seconds * 1000 / Double(scriptDurations.count), "ms")
        }
        if let before = scheduleBefore, let after = scheduleAfter {
            report.add("\(name).redis_runqueue_wait", (after.waiting - before.waiting).seconds * 1000, "ms")
        }
        report.add("\(name).ping_max", longestPing.seconds * 1000, "ms")
        report.add("\(name).total", elapsed.seconds, "s")
        report.add("\(name).rate", Double(count) / elapsed.seconds, "ops/s")
    }

    /// CPU time Redis's main thread has used (user and system), from INFO cpu.
    private func redisMainThreadCPU(_ client: RedisClient) async throws -> Duration {
        let info = try await client.send("INFO", "cpu").string ?? ""
        var seconds = 0.0
        var found = 0
        for line in info.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0] == "used_cpu_user_main_thread" || parts[0] == "used_cpu_sys_main_thread", let value = Double(parts[1]) else { continue }
            seconds += value
            found += 1
        }
        guard found == 2 else { throw ValidationError("INFO cpu has no used_cpu_*_main_thread fields (Redis 6.2 or later has them)") }
        return .milliseconds(seconds * 1000)
    }

    /// How long the main thread of process `pid` has run and waited to run
    /// (/proc/<pid>/schedstat); nil where that file is not available.
    private static func schedule(of pid: Int32) -> (running: Duration, waiting: Duration)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/schedstat", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ").compactMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard fields.count >= 2 else { return nil }
        return (.nanoseconds(fields[0]), .nanoseconds(fields[1]))
    }

    /// Runs `operations` calls of `body` spread over `tasks` concurrent tasks;
    /// returns calls per second.
    /// The middle value (the lower middle of an even count).
    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[(sorted.count - 1) / 2]
    }

    private func concurrently(tasks: Int, operations: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
        let next = SharedCounter()
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    while true {
                        let index = next.value.add(1, ordering: .relaxed).oldValue
                        if index >= operations { return }
                        try await body(index)
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(operations) / (clock.now - start).seconds
    }

    /// Runs redis-benchmark against the same server; returns requests per second by test name.
    private func runRedisBenchmark(_ configuration: RedisClient.Configuration, _ arguments: [String]) throws -> [String: Double] {
        guard let executable = ["/usr/bin/redis-benchmark", "/usr/local/bin/redis-benchmark"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw ValidationError("redis-benchmark is not installed; run `sudo apt-get install redis-server` (or `make deps`)")
        }
        var all = ["-h", configuration.host, "-p", "\(configuration.port)", "--csv"] + arguments
        if let password = configuration.password { all += ["-a", password] }
        if let user = configuration.username { all += ["--user", user] }
        if configuration.database != 0 { all += ["--dbnum", "\(configuration.database)"] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = all
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var rates: [String: Double] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            guard fields.count >= 2, let rate = Double(fields[1]) else { continue }
            rates[fields[0]] = rate
        }
        guard !rates.isEmpty else { throw ValidationError("redis-benchmark printed no figures (exit status \(process.terminationStatus))") }
        return rates
    }
}

/// A private redis-server on a free loopback port for the benchmark's run.
struct BenchRedisServer: Sendable {
    let port: Int
    private let process: Process

    private init(port: Int, process: Process) {
        self.port = port
        self.process = process
    }

    /// The server's process ID.
    var pid: Int32 { process.processIdentifier }

    static func start() async throws -> BenchRedisServer {
        guard let executable = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw ValidationError("redis-server is not installed; run `sudo apt-get install redis-server` (or `make deps`), or pass --redis URL")
        }
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", FileManager.default.temporaryDirectory.path, "--loglevel", "warning"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = BenchRedisServer(port: port, process: process)
        var configuration = RedisClient.Configuration(port: port)
        configuration.timeouts.connect = .milliseconds(200)
        configuration.circuitBreaker.failureThreshold = 1_000
        let client = try RedisClient(configuration: configuration)
        defer { Task { await client.shutdown() } }
        for _ in 0..<250 {
            if (try? await client.send("PING")) != nil { return server }
            try await Task.sleep(for: .milliseconds(20))
        }
        await server.stop()
        throw ValidationError("redis-server on port \(port) did not answer PING within 5 s")
    }

    func stop() async {
        if let client = try? RedisClient(configuration: RedisClient.Configuration(port: port)) {
            // SHUTDOWN closes the connection instead of replying: the error is expected.
            _ = try? await client.send("SHUTDOWN", "NOSAVE")
            await client.shutdown()
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw ValidationError("no free loopback port (errno \(errno))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// An atomic integer that tasks can share by reference.
private final class SharedCounter: Sendable {
    let value = Atomic<Int>(0)
}
