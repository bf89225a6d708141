#include "daemon/attempts.hpp"

#include <doctest/doctest.h>

using namespace fjord;

TEST_CASE("attempts: the flag's text round-trips; malformed text is no attempt") {
    Attempts a{"0123456789abcdef0123456789abcdef01234567", 2};
    CHECK(format_attempts(a) == "0123456789abcdef0123456789abcdef01234567 2");
    CHECK(parse_attempts(format_attempts(a)) == a);
    CHECK(parse_attempts(format_attempts(a) + "\n") == a);
    CHECK(parse_attempts("") == Attempts{});
    CHECK(parse_attempts("abc") == Attempts{});
    CHECK(parse_attempts("abc x") == Attempts{});
    CHECK(parse_attempts("abc 2x") == Attempts{});
    CHECK(parse_attempts(" 3") == Attempts{});
    CHECK(parse_attempts("abc -1") == Attempts{});
}

TEST_CASE("attempts: the same commit counts up, another commit starts again at 1") {
    Attempts a = next_attempt({}, "A");
    CHECK(a == Attempts{"A", 1});
    a = next_attempt(a, "A");
    CHECK(a == Attempts{"A", 2});
    CHECK(next_attempt(a, "B") == Attempts{"B", 1});
    CHECK(next_attempt(Attempts{"A", 0}, "A") == Attempts{"A", 1});
}

TEST_CASE("attempts: max_attempts interrupted attempts trip the next one, with the reason") {
    Attempts a;
    for (std::uint32_t i = 1; i <= max_attempts; ++i) {
        a = next_attempt(a, "0123456789abcdef");
        CHECK_MESSAGE(trip_reason(a).empty(), "attempt ", i);
    }
    a = next_attempt(a, "0123456789abcdef");
    std::string why = trip_reason(a);
    REQUIRE_FALSE(why.empty());
    CHECK(why.find("3 attempts") != std::string::npos);
    CHECK(why.find("0123456789ab") != std::string::npos);
    CHECK(why.find("0123456789abc") == std::string::npos); // the short id
    CHECK(why.find("fjordctl resume") != std::string::npos);
    // A newer commit is not held back by the old commit's count.
    CHECK(trip_reason(next_attempt(a, "fedcba")).empty());
}

TEST_CASE("only the commit's own faults mark it bad; the sandbox's failures are retried") {
    CHECK(commit_at_fault(Errc::invalid));
    CHECK(commit_at_fault(Errc::refused));
    // The render sandbox's timeout, CPU or memory limit, a forbidden call, a failed fork.
    CHECK(!commit_at_fault(Errc::internal));
    CHECK(!commit_at_fault(Errc::io));
    CHECK(!commit_at_fault(Errc::network));
    CHECK(!commit_at_fault(Errc::busy));
}

TEST_CASE("an apply's failure: transient only where shown so; everything else is the commit's") {
    for (Errc c : {Errc::network, Errc::busy, Errc::unavailable, Errc::io}) CHECK(transient(c));
    for (Errc c : {Errc::invalid, Errc::refused, Errc::guardrail, Errc::not_found, Errc::internal, Errc::killed, Errc::corrupt})
        CHECK_FALSE(transient(c));
}

TEST_CASE("backoff: the poll interval first, then doubling, capped at an hour; a new commit starts over") {
    Backoff b;
    CHECK(backoff_left(b, "c1", 100) == 0);
    b = next_backoff(b, "c1", 100, 60, "why");
    CHECK(b.delay == 60);
    CHECK(backoff_left(b, "c1", 100) == 60);
    CHECK(backoff_left(b, "c1", 130) == 30);
    CHECK(backoff_left(b, "c2", 100) == 0); // another commit is never held back
    CHECK(backoff_left(b, "c1", 160) == 0);
    b = next_backoff(b, "c1", 160, 60, "why");
    CHECK(b.delay == 120);
    for (int i = 0; i < 10; ++i) b = next_backoff(b, "c1", 0, 60, "why");
    CHECK(b.delay == max_backoff_seconds);
    b = next_backoff(b, "c2", 0, 60, "other");
    CHECK(b.delay == 60);
    CHECK(b.why == "other");
    CHECK(next_backoff({}, "c", 0, 0, "").delay == 1); // a poll interval under a second
}
