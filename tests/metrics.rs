//! Names, the walk over every breaker, and the Prometheus exposition
//! (`Registry::write_metrics`, `Registry::metrics_into`): escaping, the
//! buffer rules, and the numbers against `Registry::stats`.
use std::collections::HashMap;

use fusebox::{Config, Error, Id, MetricsError, Registry, State, NAME_MAX};

/// The exposition's samples, by series (`family{labels}`), checking the
/// format's line rules on the way: every family has one HELP and one TYPE
/// line before its samples, and its samples are contiguous.
fn samples(text: &str) -> HashMap<String, String> {
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    let mut out = HashMap::new();
    let mut families = Vec::<String>::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (family, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            assert!(!families.contains(&family.to_string()), "{family} twice");
            families.push(family.to_string());
        } else if line.starts_with("# HELP ") {
        } else {
            let (series, value) = line
                .rsplit_once(" ")
                .unwrap_or_else(|| panic!("{line:?} in\n{text}"));
            let family = series.split('{').next().unwrap();
            assert_eq!(Some(&family.to_string()), families.last(), "{line}");
            value.parse::<f64>().unwrap();
            assert!(out.insert(series.to_string(), value.to_string()).is_none());
        }
    }
    out
}

fn exposition<const N: usize>(r: &Registry<N>, now: u64) -> String {
    let mut s = String::new();
    r.write_metrics(now, &mut s).unwrap();
    s
}

fn value(samples: &HashMap<String, String>, series: &str) -> String {
    samples
        .get(series)
        .unwrap_or_else(|| panic!("no sample {series}"))
        .clone()
}

#[test]
fn name_copies_the_name_or_says_why_not() {
    let r: Registry<4> = Registry::new();
    let id = r.create(b"payments", Config::default()).unwrap();
    let mut buf = [0xAA; NAME_MAX];
    assert_eq!(r.name(id, &mut buf), Ok(8));
    assert_eq!(&buf[..8], b"payments");
    let mut short = [0xAA; 7];
    assert_eq!(r.name(id, &mut short), Err(Error::BufferTooSmall));
    assert_eq!(short, [0xAA; 7]);
    let mut exact = [0; 8];
    assert_eq!(r.name(id, &mut exact), Ok(8));
    r.remove(id).unwrap();
    assert_eq!(r.name(id, &mut buf), Err(Error::NotFound));
    assert_eq!(r.name(Id::from_raw(0), &mut buf), Err(Error::NotFound));
    // A new breaker in the same slot: the old id still finds nothing.
    let new = r.create(b"other", Config::default()).unwrap();
    assert_eq!(r.name(id, &mut buf), Err(Error::NotFound));
    assert_eq!(r.name(new, &mut buf), Ok(5));
    let long = [b'n'; NAME_MAX];
    let id = r.create(&long, Config::default()).unwrap();
    assert_eq!(r.name(id, &mut buf), Ok(NAME_MAX));
    assert_eq!(buf, long);
}

#[test]
fn the_walk_visits_every_breaker_once_in_slot_order() {
    let r: Registry<8> = Registry::new();
    assert_eq!(r.next_id(None), Ok(None));
    let ids: Vec<Id> = (0..6u8)
        .map(|i| r.create(&[b'a' + i], Config::default()).unwrap())
        .collect();
    assert_eq!(r.ids().collect::<Vec<_>>(), ids);
    r.remove(ids[0]).unwrap();
    r.remove(ids[3]).unwrap();
    let left = [ids[1], ids[2], ids[4], ids[5]];
    assert_eq!(r.ids().collect::<Vec<_>>(), left);
    // A walk goes on from a removed breaker's slot.
    assert_eq!(r.next_id(Some(ids[3])), Ok(Some(ids[4])));
    assert_eq!(r.next_id(Some(ids[5])), Ok(None));
    // Created during a walk: seen only in a slot after the walk's position.
    let mut walk = Vec::new();
    let mut at = None;
    while let Some(id) = r.next_id(at).unwrap() {
        if id == ids[4] {
            r.create(b"early", Config::default()).unwrap(); // slot 0
            r.create(b"late", Config::default()).unwrap(); // slot 3
            r.create(b"later", Config::default()).unwrap(); // slot 6
        }
        walk.push(id);
        at = Some(id);
    }
    let later = r.lookup(b"later").unwrap();
    assert_eq!(walk, [ids[1], ids[2], ids[4], ids[5], later]);
    // An id from beyond the registry's slots ends the walk.
    assert_eq!(r.next_id(Some(Id::from_raw(4095))), Ok(None));
}

#[test]
fn names_are_escaped_and_bytes_that_are_not_utf8_replaced() {
    let r: Registry<4> = Registry::new();
    r.create(b"a\"b\\c\nd", Config::default()).unwrap();
    r.create(b"x\xFFy\xE2\x82", Config::default()).unwrap();
    r.create("caf\u{e9}".as_bytes(), Config::default()).unwrap();
    let text = exposition(&r, 0);
    let s = samples(&text);
    assert_eq!(
        value(&s, r#"fusebox_state{name="a\"b\\c\nd",state="closed"}"#),
        "1"
    );
    assert_eq!(
        value(
            &s,
            "fusebox_state{name=\"x\u{FFFD}y\u{FFFD}\",state=\"closed\"}"
        ),
        "1"
    );
    assert_eq!(
        value(&s, "fusebox_state{name=\"caf\u{e9}\",state=\"open\"}"),
        "0"
    );
    // The raw newline never reaches the text: one line per sample.
    assert!(!text.contains("c\nd"));
}

#[test]
fn the_exposition_has_the_stats_numbers() {
    let r: Registry<4> = Registry::new();
    let ok = r.create(b"ok", Config::default()).unwrap();
    let bad = r
        .create(b"bad", Config::default().with_failure_threshold(2))
        .unwrap();
    for t in 0..5 {
        r.try_acquire(ok, t).unwrap();
        r.record_success(ok, t).unwrap();
    }
    r.try_acquire(bad, 10).unwrap();
    r.record_failure(bad, 10).unwrap();
    r.try_acquire(bad, 11).unwrap();
    r.record_failure(bad, 11).unwrap();
    assert_eq!(r.try_acquire(bad, 12), Err(Error::CircuitOpen));
    assert_eq!(r.try_acquire(bad, 13), Err(Error::CircuitOpen));
    let s = samples(&exposition(&r, 1_011));
    for (name, id, state) in [("ok", ok, "closed"), ("bad", bad, "open")] {
        let st = r.stats(id).unwrap();
        for (label, _) in [("closed", 0), ("open", 1), ("half_open", 2)] {
            let want = if label == state { "1" } else { "0" };
            let series = format!("fusebox_state{{name=\"{name}\",state=\"{label}\"}}");
            assert_eq!(value(&s, &series), want);
        }
        for (outcome, n) in [
            ("admitted", st.admitted_count),
            ("rejected", st.rejected_count),
            ("succeeded", st.success_count),
            ("failed", st.failure_total),
        ] {
            let series = format!("fusebox_calls_total{{name=\"{name}\",outcome=\"{outcome}\"}}");
            assert_eq!(value(&s, &series), n.to_string(), "{series}");
        }
    }
    let st = r.stats(bad).unwrap();
    assert_eq!((st.admitted_count, st.rejected_count), (2, 2));
    assert_eq!(st.state, State::Open);
    #[cfg(feature = "policies")]
    {
        // Open since 11: 1 000 ms at 1 011.
        assert_eq!(value(&s, "fusebox_open_seconds_total{name=\"bad\"}"), "1");
        assert_eq!(value(&s, "fusebox_open_seconds_total{name=\"ok\"}"), "0");
        assert_eq!(value(&s, "fusebox_failure_rate{name=\"bad\"}"), "0");
        let s = samples(&exposition(&r, 1_234));
        assert_eq!(
            value(&s, "fusebox_open_seconds_total{name=\"bad\"}"),
            "1.223"
        );
    }
    #[cfg(not(feature = "policies"))]
    for gone in [
        "fusebox_failure_rate",
        "fusebox_open_seconds_total",
        "outcome=\"slow\"",
    ] {
        assert!(!exposition(&r, 0).contains(gone), "{gone}");
    }
}

/// `failed` is a counter: it never goes down, though `failure_count`
/// (failures since the last close) does.
#[test]
fn the_failed_counter_is_monotonic_across_a_close() {
    let r: Registry<2> = Registry::new();
    let cfg = Config::default()
        .with_failure_threshold(2)
        .with_reset_timeout_ms(100);
    let id = r.create(b"x", cfg).unwrap();
    r.record_failure(id, 0).unwrap();
    r.record_failure(id, 1).unwrap();
    r.try_acquire(id, 200).unwrap();
    r.record_success(id, 201).unwrap(); // the probe closes it
    let st = r.stats(id).unwrap();
    assert_eq!(
        (st.state, st.failure_count, st.failure_total),
        (State::Closed, 0, 2)
    );
    let s = samples(&exposition(&r, 300));
    assert_eq!(
        value(&s, "fusebox_calls_total{name=\"x\",outcome=\"failed\"}"),
        "2"
    );
}

#[cfg(feature = "policies")]
#[test]
fn rates_come_from_the_window() {
    use fusebox::{Outcome, Policy, TripRule, WindowKind};
    let policy = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Count, 10, 0)
        .with_minimum_calls(10)
        .with_failure_rate_percent(90)
        .with_slow_calls(100, 90);
    let r: Registry<2> = Registry::new();
    let id = r
        .create(b"w", Config::default().with_policy(policy))
        .unwrap();
    let s = samples(&exposition(&r, 0));
    assert_eq!(value(&s, "fusebox_failure_rate{name=\"w\"}"), "0");
    assert_eq!(value(&s, "fusebox_window_calls{name=\"w\"}"), "0");
    r.record(id, Outcome::Failure, 0, 1).unwrap();
    r.record(id, Outcome::Success, 500, 2).unwrap();
    r.record(id, Outcome::Success, 0, 3).unwrap();
    r.record(id, Outcome::Ignored, 0, 4).unwrap();
    let st = r.stats(id).unwrap();
    assert_eq!(
        (st.window_calls, st.window_failures, st.window_slow),
        (3, 1, 1)
    );
    let s = samples(&exposition(&r, 5));
    assert_eq!(value(&s, "fusebox_failure_rate{name=\"w\"}"), "0.333333");
    assert_eq!(value(&s, "fusebox_slow_call_rate{name=\"w\"}"), "0.333333");
    assert_eq!(value(&s, "fusebox_window_calls{name=\"w\"}"), "3");
    for (outcome, n) in [("ignored", st.ignored_count), ("slow", st.slow_count)] {
        let series = format!("fusebox_calls_total{{name=\"w\",outcome=\"{outcome}\"}}");
        assert_eq!(value(&s, &series), n.to_string());
        assert_eq!(n, 1);
    }
    r.force_open(id, 10).unwrap();
    let s = samples(&exposition(&r, 2_510));
    assert_eq!(
        value(&s, "fusebox_state{name=\"w\",state=\"forced_open\"}"),
        "1"
    );
    assert_eq!(value(&s, "fusebox_open_seconds_total{name=\"w\"}"), "2.5");
}

/// The rates and the window's calls age with the reading the exposition is
/// written at: a time window's expired buckets are left out without a new
/// call, and writing changes nothing.
#[cfg(feature = "policies")]
#[test]
fn the_rates_age_with_the_time() {
    use fusebox::{Outcome, Policy, TripRule, WindowKind};
    let policy = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Time, 2, 1_000)
        .with_minimum_calls(u32::MAX)
        .with_slow_calls(100, 100);
    let r: Registry<2> = Registry::new();
    let id = r
        .create(b"t", Config::default().with_policy(policy))
        .unwrap();
    r.record(id, Outcome::Failure, 500, 0).unwrap(); // [0, 1 000): failed, slow
    r.record(id, Outcome::Success, 0, 1_500).unwrap(); // [1 000, 2 000)
    r.record(id, Outcome::Success, 0, 1_600).unwrap();
    let rates = |now| {
        let s = samples(&exposition(&r, now));
        [
            "fusebox_failure_rate",
            "fusebox_slow_call_rate",
            "fusebox_window_calls",
        ]
        .map(|f| value(&s, &format!("{f}{{name=\"t\"}}")))
    };
    assert_eq!(rates(1_600), ["0.333333", "0.333333", "3"]);
    assert_eq!(rates(1_999), ["0.333333", "0.333333", "3"]);
    assert_eq!(rates(2_000), ["0", "0", "2"], "the first bucket expired");
    assert_eq!(rates(3_000), ["0", "0", "0"], "the whole window");
    assert_eq!(rates(500), ["0.333333", "0.333333", "3"], "clock back");
    let st = r.stats(id).unwrap();
    assert_eq!((st.window_calls, st.window_failures), (3, 1));
    let mut buf = [0u8; 4096];
    let n = r.metrics_into(2_000, &mut buf).unwrap();
    let text = core::str::from_utf8(&buf[..n]).unwrap();
    assert!(text.contains("fusebox_window_calls{name=\"t\"} 2\n"));
}

#[test]
fn metrics_into_writes_all_or_nothing() {
    let r: Registry<4> = Registry::new();
    let id = r.create(b"one", Config::default()).unwrap();
    r.record_failure(id, 0).unwrap();
    r.create(b"t\"wo", Config::default()).unwrap();
    let text = exposition(&r, 7);
    let n = text.len();
    let mut buf = vec![0xAA; n - 1];
    assert_eq!(
        r.metrics_into(7, &mut buf),
        Err(MetricsError::BufferTooSmall {
            needed: n,
            buf_changed: false
        })
    );
    assert!(buf.iter().all(|&b| b == 0xAA));
    assert_eq!(
        r.metrics_into(7, &mut []),
        Err(MetricsError::BufferTooSmall {
            needed: n,
            buf_changed: false
        })
    );
    let mut exact = vec![0xAA; n];
    assert_eq!(r.metrics_into(7, &mut exact), Ok(n));
    assert_eq!(exact, text.as_bytes());
    let mut big = vec![0xAA; n + 10];
    assert_eq!(r.metrics_into(7, &mut big), Ok(n));
    assert_eq!(&big[..n], text.as_bytes());
    assert!(big[n..].iter().all(|&b| b == 0xAA));
}

#[test]
fn an_empty_registry_has_the_headers_only() {
    let r: Registry<2> = Registry::new();
    let text = exposition(&r, 0);
    assert!(samples(&text).is_empty());
    assert!(text.contains("# TYPE fusebox_state gauge\n"));
    assert!(text.contains("# TYPE fusebox_calls_total counter\n"));
}

/// A scrape while another thread removes breakers and creates new ones in
/// the same slots always succeeds: a breaker removed during its reading is
/// left out (without `std`, the slot it read is then being filled).
#[test]
fn metrics_succeed_while_slots_churn() {
    static REG: Registry<4> = Registry::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let retry = |op: &dyn Fn() -> Result<Id, Error>| loop {
        match op() {
            Err(Error::Busy) if !cfg!(feature = "std") => std::thread::yield_now(),
            other => return other,
        }
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            let start = std::time::Instant::now();
            while start.elapsed() < std::time::Duration::from_millis(500) {
                let id = retry(&|| REG.create(b"churn", Config::default())).unwrap();
                retry(&|| REG.remove(id).map(|()| id)).unwrap();
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        s.spawn(|| {
            let mut buf = [0u8; 8192];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                assert!(REG.metrics_into(0, &mut buf).is_ok());
            }
        });
    });
}
