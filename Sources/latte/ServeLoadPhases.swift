import Foundation
import LatteServe

/// The phases of `latte bench serve`, each against a running loopback server: the OpenAI image and
/// chat load, the same through the job API with a third of the jobs cancelled mid-job, and the full
/// queue. Every request's outcome goes to a `LoadRecord`; nothing here throws for a bad answer.
struct ServeLoadPhases: Sendable {
    let imageClients: Int
    let requestsPerClient: Int
    let chatClients: Int
    let maxTokens: Int
    /// Sampling steps sent with every image request; nil: the model's default.
    let steps: Int?
    let prompts: [String]
    let width: Int
    let height: Int

    func imageFields(client c: Int, request k: Int) -> [String: Any] {
        var f: [String: Any] = ["prompt": prompts[(c * requestsPerClient + k) % prompts.count], "seed": c * 1000 + k, "n": 1]
        if let steps { f["steps"] = steps }
        return f
    }

    /// Image clients sending `requestsPerClient` plain `/v1/images/generations` requests each, one at a
    /// time, and `chatClients` chat clients asking until the image clients are done (at least once each).
    /// Returns the seconds until the last image came back.
    func imageLoad(_ http: ServeLoadHTTP, _ record: LoadRecord, chatClients: Int) async -> Double {
        let started = Date()
        let imagesDone = LoadFlag()
        return await withTaskGroup(of: Double?.self) { group in
            for c in 0..<chatClients { group.addTask { await chat(c, http, record, until: imagesDone); return nil } }
            group.addTask {
                await withTaskGroup(of: Void.self) { images in
                    for c in 0..<imageClients {
                        images.addTask {
                            for k in 0..<requestsPerClient { await image(client: c, request: k, http, record) }
                        }
                    }
                }
                imagesDone.raise()
                return Date().timeIntervalSince(started)
            }
            var wall = 0.0
            for await w in group { if let w { wall = w } }
            return wall
        }
    }

    func image(client c: Int, request k: Int, _ http: ServeLoadHTTP, _ record: LoadRecord) async {
        let t0 = Date()
        do {
            let (status, body, _) = try await http.send("POST", "/v1/images/generations", json: imageFields(client: c, request: k))
            guard status == 200 else { throw LoadFailure("HTTP \(status): \(String(decoding: body.prefix(300), as: UTF8.self))") }
            try ServeLoadHTTP.checkImages(try ServeLoadHTTP.object(body, "image"), count: 1, width: width, height: height, "image")
            record.succeeded("image", seconds: Date().timeIntervalSince(t0))
        } catch {
            record.failed("image client \(c) request \(k)", "\(error)")
        }
    }

    func chat(_ c: Int, _ http: ServeLoadHTTP, _ record: LoadRecord, until done: LoadFlag) async {
        var sent = 0
        while (sent == 0 || !done.isRaised) && http.timeLeft {
            let t0 = Date()
            sent += 1
            do {
                let fields: [String: Any] = ["messages": [["role": "user", "content": "Name one thing people wear, number \(c * 100 + sent)."]],
                                             "max_tokens": maxTokens, "temperature": 0]
                let (status, body, _) = try await http.send("POST", "/v1/chat/completions", json: fields)
                guard status == 200 else { throw LoadFailure("HTTP \(status): \(String(decoding: body.prefix(300), as: UTF8.self))") }
                let o = try ServeLoadHTTP.object(body, "chat")
                guard let choice = (o["choices"] as? [[String: Any]])?.first, (choice["message"] as? [String: Any])?["content"] is String else {
                    throw LoadFailure("no choices[0].message.content in \(String(decoding: body.prefix(300), as: UTF8.self))")
                }
                record.succeeded("chat", seconds: Date().timeIntervalSince(t0))
            } catch {
                record.failed("chat client \(c)", "\(error)")
            }
        }
    }

    /// The same image requests as jobs (`POST /v1/jobs`, then polling `GET /v1/jobs/{id}`), with the
    /// requests numbered in `cancel` cancelled once their job has finished a step: each must end
    /// `cancelled`, every other one `done` with its image. Chat load as in `imageLoad`.
    func jobsWithCancels(_ http: ServeLoadHTTP, _ record: LoadRecord, cancel: Set<Int>) async {
        let imagesDone = LoadFlag()
        await withTaskGroup(of: Void.self) { group in
            for c in 0..<chatClients { group.addTask { await chat(c, http, record, until: imagesDone) } }
            group.addTask {
                await withTaskGroup(of: Void.self) { jobs in
                    for c in 0..<imageClients {
                        jobs.addTask {
                            for k in 0..<requestsPerClient {
                                await job(client: c, request: k, cancel: cancel.contains(c * requestsPerClient + k), http, record)
                            }
                        }
                    }
                }
                imagesDone.raise()
            }
        }
    }

    func job(client c: Int, request k: Int, cancel: Bool, _ http: ServeLoadHTTP, _ record: LoadRecord) async {
        let t0 = Date()
        let what = "job client \(c) request \(k)\(cancel ? " (to cancel)" : "")"
        do {
            let (status, body, _) = try await http.send("POST", "/v1/jobs", json: imageFields(client: c, request: k))
            guard status == 202 else { throw LoadFailure("POST /v1/jobs: HTTP \(status): \(String(decoding: body.prefix(300), as: UTF8.self))") }
            guard let id = try ServeLoadHTTP.object(body, "job")["id"] as? String else { throw LoadFailure("POST /v1/jobs: no id") }
            if cancel {
                // Mid-job: once it has finished a sampling step and is still running.
                let running = try await poll(http, id) { o in
                    ["done", "failed", "cancelled"].contains(o["status"] as? String ?? "") || (o["status"] as? String == "running" && (o["step"] as? Int ?? 0) >= 1)
                }
                guard running["status"] as? String == "running" else { throw LoadFailure("the job ended \(running["status"] ?? "?") before it could be cancelled") }
                let (code, answer, _) = try await http.send("POST", "/v1/jobs/\(id)/cancel")
                guard code == 200 else { throw LoadFailure("cancel: HTTP \(code): \(String(decoding: answer.prefix(300), as: UTF8.self))") }
            }
            let end = try await poll(http, id) { ["done", "failed", "cancelled"].contains($0["status"] as? String ?? "") }
            let state = end["status"] as? String ?? "?"
            if cancel {
                guard state == "cancelled" else { throw LoadFailure("cancelled mid-job but ended \(state)") }
                record.count("cancelled")
            } else {
                guard state == "done" else { throw LoadFailure("ended \(state): \(end["error"] ?? "")") }
                try ServeLoadHTTP.checkImages(end, count: 1, width: width, height: height, what)
                record.succeeded("job", seconds: Date().timeIntervalSince(t0))
            }
        } catch {
            record.failed(what, "\(error)")
        }
    }

    /// Polls a job's status every 50 ms until `done` holds; returns that status. (Every 10 ms, 80 jobs
    /// polling at once were 8,000 requests a second: the server spent the CPU answering them.)
    func poll(_ http: ServeLoadHTTP, _ id: String, until done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        while true {
            let (status, body, _) = try await http.send("GET", "/v1/jobs/\(id)")
            guard status == 200 else { throw LoadFailure("GET /v1/jobs/\(id): HTTP \(status)") }
            let o = try ServeLoadHTTP.object(body, "job status")
            if done(o) { return o }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// Submits long jobs until one is refused: exactly `capacity` (sampled + waiting) must be accepted
    /// and the next answered 429 with a Retry-After; then all are cancelled and must end cancelled.
    /// Returns the Retry-After seconds.
    func fullQueue(_ http: ServeLoadHTTP, _ record: LoadRecord, capacity: Int) async -> Int? {
        var ids: [String] = []
        var retryAfter: Int?
        do {
            for attempt in 0...(capacity + 4) {
                let (status, body, h) = try await http.send("POST", "/v1/jobs", json: ["prompt": prompts[attempt % prompts.count], "steps": 1000, "seed": attempt])
                if status == 202, let id = try ServeLoadHTTP.object(body, "job")["id"] as? String {
                    ids.append(id)
                    continue
                }
                guard status == 429 else { throw LoadFailure("HTTP \(status) instead of 202 or 429: \(String(decoding: body.prefix(300), as: UTF8.self))") }
                retryAfter = h.value(forHTTPHeaderField: "Retry-After").flatMap { Int($0) }
                guard let r = retryAfter, r >= 1 else { throw LoadFailure("a 429 without a Retry-After of at least 1 s") }
                break
            }
            if ids.count != capacity { record.failed("full queue", "\(ids.count) jobs accepted before the 429, expected \(capacity) (sampled + --max-queue)") }
            if retryAfter == nil { record.failed("full queue", "no 429 after \(ids.count) jobs") }
        } catch {
            record.failed("full queue", "\(error)")
        }
        for id in ids.reversed() { _ = try? await http.send("POST", "/v1/jobs/\(id)/cancel") }
        for id in ids {
            do {
                let end = try await poll(http, id) { ["done", "failed", "cancelled"].contains($0["status"] as? String ?? "") }
                if end["status"] as? String != "cancelled" { record.failed("full queue", "job \(id) ended \(end["status"] ?? "?") after cancel") }
                else { record.count("cancelled") }
            } catch {
                record.failed("full queue", "job \(id): \(error)")
            }
        }
        return retryAfter
    }
}
