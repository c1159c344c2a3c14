"""Load client of scripts/bench-catalog: seeds a school on a running `lms-media serve`, then measures the
catalog's reads under concurrent clients.

Usage: python catalog_load.py BASE_URL ADMIN_TOKEN [--learners 10000] [--courses 20] [--clients 200]
       [--seconds 30]

Seeds through the API itself: courses with modules and items, learners enrolled by one CSV import, tokens
for a sample of learners, some items marked done. Then `clients` concurrent clients, each with its own
connection, loop for `seconds`: a learner's course page (GET /courses/:id/modules?include[]=items, with
progress) and a teacher's enrollment list (GET /courses/:id/enrollments, a page of 100 with users). Prints
one JSON line: latency percentiles per read, requests per second and errors.
"""

import argparse
import asyncio
import json
import random
import statistics
import time

import aiohttp


async def call(session, method, url, token, **kwargs):
    async with session.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs) as response:
        body = await response.text()
        if response.status >= 300:
            raise RuntimeError(f"{method} {url}: {response.status} {body[:300]}")
        return json.loads(body) if body else None


async def seed(session, api, admin, learners, courses):
    started = time.monotonic()
    course_ids = []
    for number in range(courses):
        course = await call(session, "POST", f"{api}/accounts/self/courses", admin,
                            data={"course[name]": f"Course {number:02}", "offer": "true", "enroll_me": "true"})
        course_ids.append(course["id"])
        for week in range(5):
            module = await call(session, "POST", f"{api}/courses/{course['id']}/modules", admin,
                                data={"module[name]": f"Week {week + 1}"})
            for item in range(6):
                data = {"module_item[type]": "ExternalUrl", "module_item[title]": f"Reading {item + 1}",
                        "module_item[external_url]": f"https://example.org/{week}/{item}"}
                if item % 2 == 0:
                    data["module_item[completion_requirement][type]"] = "must_mark_done"
                await call(session, "POST", f"{api}/courses/{course['id']}/modules/{module['id']}/items", admin, data=data)
    rows = ["email,course_id,type,name"]
    for learner in range(learners):
        rows.append(f"learner{learner:05}@bench.example,{course_ids[learner % courses]},student,Learner {learner:05}")
    async with session.post(f"{api}/accounts/self/enrollments/import", data="\n".join(rows).encode(),
                            headers={"Authorization": f"Bearer {admin}", "Content-Type": "text/csv"}) as response:
        report = json.loads(await response.text())
        if response.status != 200:
            raise RuntimeError(f"import: {response.status} {report}")
    # Ten learners per course get tokens and mark two items done, so pages show real progress.
    sample = []
    for course_id in course_ids:
        roster = await call(session, "GET", f"{api}/courses/{course_id}/enrollments?type[]=StudentEnrollment&per_page=10", admin)
        modules = await call(session, "GET", f"{api}/courses/{course_id}/modules?include[]=items&per_page=100", admin)
        for enrollment in roster:
            token = (await call(session, "POST", f"{api}/users/{enrollment['user_id']}/tokens", admin,
                                data={"token[purpose]": "bench"}))["visible_token"]
            first = modules[0]
            await call(session, "PUT", f"{api}/courses/{course_id}/modules/{first['id']}/items/{first['items'][0]['id']}/done", token)
            sample.append((course_id, token))
    return course_ids, sample, report, time.monotonic() - started


def percentiles(samples):
    if not samples:
        return {}
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"count": len(ordered), "p50_ms": round(pick(0.50) * 1000, 2), "p90_ms": round(pick(0.90) * 1000, 2),
            "p99_ms": round(pick(0.99) * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


async def client(api, admin, course_ids, sample, deadline, results, errors):
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        while time.monotonic() < deadline:
            if random.random() < 0.5:
                course_id, token = random.choice(sample)
                name, url = "course_page", f"{api}/courses/{course_id}/modules?include[]=items&per_page=100"
            else:
                course_id, token = random.choice(course_ids), admin
                page = random.randint(1, 5)
                name, url = "enrollment_list", f"{api}/courses/{course_id}/enrollments?per_page=100&page={page}"
            started = time.monotonic()
            try:
                async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                    await response.read()
                    if response.status != 200:
                        errors.append(response.status)
                        continue
            except aiohttp.ClientError as error:
                errors.append(str(error))
                continue
            results[name].append(time.monotonic() - started)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    api = args.base_url.rstrip("/") + "/api/v1"
    async with aiohttp.ClientSession() as session:
        course_ids, sample, report, seed_seconds = await seed(session, api, args.token, args.learners, args.courses)
    results = {"course_page": [], "enrollment_list": []}
    errors = []
    deadline = time.monotonic() + args.seconds
    started = time.monotonic()
    await asyncio.gather(*(client(api, args.token, course_ids, sample, deadline, results, errors)
                           for _ in range(args.clients)))
    elapsed = time.monotonic() - started
    total = sum(len(samples) for samples in results.values())
    print(json.dumps({
        "learners": args.learners, "courses": args.courses, "clients": args.clients, "seconds": round(elapsed, 1),
        "seed_seconds": round(seed_seconds, 1), "import": report,
        "requests_per_second": round(total / elapsed, 1), "errors": len(errors), "error_sample": errors[:5],
        "course_page": percentiles(results["course_page"]), "enrollment_list": percentiles(results["enrollment_list"]),
    }))


if __name__ == "__main__":
    asyncio.run(main())
