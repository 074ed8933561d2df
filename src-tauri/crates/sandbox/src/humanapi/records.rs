//! Seeded Data API records. Every record is derived from (seed, human id, source, day), so the same
//! human sees the same data in every run. Field sets beyond the common `id, humanId, source,
//! sourceData, createdAt, updatedAt` (docs/providers/human-api.md, "Data API") are [INF].

use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};
use time::{Date, Duration};

use super::seed::{derived_hex, derived_rng, Source};
use super::state::HumanApi;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WellnessList {
    ActivitySummaries,
    Sleeps,
    HeartRateReadings,
}

impl WellnessList {
    fn key(self) -> &'static str {
        match self {
            WellnessList::ActivitySummaries => "activity-summary",
            WellnessList::Sleeps => "sleep",
            WellnessList::HeartRateReadings => "heart-rate-reading",
        }
    }
}

pub struct Record {
    pub date: Date,
    pub source: &'static Source,
    pub body: Value,
}

/// `2024-12-31T06:00:00.000Z`, the way JavaScript's `toISOString` writes it.
fn timestamp(date: Date, hour: u8, minute: u8) -> String {
    format!("{date}T{hour:02}:{minute:02}:00.000Z")
}

/// Records are written the morning after the day they describe.
fn written_at(date: Date) -> String {
    timestamp(date.saturating_add(Duration::days(1)), 6, 0)
}

/// Newest day first, then sources in catalogue order.
pub fn wellness(
    hapi: &HumanApi,
    human_id: &str,
    sources: &[&'static Source],
    list: WellnessList,
) -> Vec<Record> {
    let mut records = Vec::new();
    for day in 0..hapi.wellness_days {
        let date = hapi
            .data_end_date
            .saturating_sub(Duration::days(i64::from(day)));
        for source in sources.iter().filter(|source| !source.medical) {
            records.extend(day_records(hapi.seed, human_id, source, date, list));
        }
    }
    records
}

fn day_records(
    seed: u64,
    human_id: &str,
    source: &'static Source,
    date: Date,
    list: WellnessList,
) -> Vec<Record> {
    let day = date.to_string();
    let parts = [list.key(), human_id, source.slug, day.as_str()];
    let mut rng = derived_rng(seed, &parts);
    let common = |extra: &str, fields: Value| {
        let mut id_parts = parts.to_vec();
        id_parts.push(extra);
        let mut body = json!({
            "id": derived_hex(seed, &id_parts, 24),
            "humanId": human_id,
            "source": source.slug,
            "sourceData": {},
            "createdAt": written_at(date),
            "updatedAt": written_at(date),
        });
        if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
            body.extend(fields);
        }
        Record { date, source, body }
    };
    match list {
        WellnessList::ActivitySummaries => {
            let steps: u32 = rng.random_range(2_000..16_000);
            vec![common(
                "",
                json!({
                    "date": day,
                    "steps": steps,
                    "distance": steps * 7 / 10,
                    "duration": steps / 2,
                    "calories": 1_600 + steps / 20,
                }),
            )]
        }
        WellnessList::Sleeps => {
            let asleep: u32 = rng.random_range(300..540);
            let awake: u32 = rng.random_range(5..60);
            let bedtime_minute: u8 = rng.random_range(0..60);
            let total = asleep + awake;
            let wake_up_minutes = 22 * 60 + u32::from(bedtime_minute) + total - 24 * 60;
            vec![common(
                "",
                json!({
                    "date": day,
                    "startTime": timestamp(date.saturating_sub(Duration::days(1)), 22, bedtime_minute),
                    "endTime": timestamp(date, (wake_up_minutes / 60) as u8, (wake_up_minutes % 60) as u8),
                    "timeAsleep": asleep,
                    "timeAwake": awake,
                    "efficiency": asleep * 100 / total,
                }),
            )]
        }
        WellnessList::HeartRateReadings => [23u8, 18, 12, 6]
            .into_iter()
            .map(|hour| {
                let value: u32 = rng.random_range(52..96);
                common(
                    &hour.to_string(),
                    json!({
                        "timestamp": timestamp(date, hour, 0),
                        "value": value,
                        "unit": "bpm",
                    }),
                )
            })
            .collect(),
    }
}

pub struct Report {
    pub id: String,
    /// One of the documented kinds: `unity`, `healthcheck`, `highlights`, `ccdraw`, `covid`.
    pub kind: &'static str,
    pub name: String,
    pub sources: Vec<&'static Source>,
    pub created_at: String,
}

/// Once a medical source is synced: a `unity` and a `highlights` report over all medical sources,
/// and one `ccdraw` report per medical source.
pub fn reports(hapi: &HumanApi, human_id: &str, sources: &[&'static Source]) -> Vec<Report> {
    let medical: Vec<&'static Source> = sources.iter().copied().filter(|s| s.medical).collect();
    if medical.is_empty() {
        return Vec::new();
    }
    let created_at = written_at(hapi.data_end_date);
    let combined = medical.iter().map(|s| s.id).collect::<Vec<_>>().join(",");
    let mut reports = vec![
        Report {
            id: derived_hex(hapi.seed, &["report", human_id, "unity", &combined], 24),
            kind: "unity",
            name: "Unity Report".to_string(),
            sources: medical.clone(),
            created_at: created_at.clone(),
        },
        Report {
            id: derived_hex(
                hapi.seed,
                &["report", human_id, "highlights", &combined],
                24,
            ),
            kind: "highlights",
            name: "Highlights Report".to_string(),
            sources: medical.clone(),
            created_at: created_at.clone(),
        },
    ];
    reports.extend(medical.iter().map(|source| Report {
        id: derived_hex(hapi.seed, &["report", human_id, "ccdraw", source.id], 24),
        kind: "ccdraw",
        name: format!("Raw CCD: {}", source.name),
        sources: vec![source],
        created_at: created_at.clone(),
    }));
    reports
}

impl Report {
    pub fn summary(&self, human_id: &str) -> Value {
        json!({
            "id": self.id,
            "humanId": human_id,
            "name": self.name,
            "type": self.kind,
            "sources": self.sources.iter().map(|s| json!({"id": s.id, "name": s.name})).collect::<Vec<_>>(),
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
        })
    }

    /// The report's content: `(section title, entries)`, derived from its sources.
    pub fn sections(&self, seed: u64, human_id: &str) -> Vec<(&'static str, Vec<String>)> {
        const CONDITIONS: [&str; 6] = [
            "Seasonal allergic rhinitis",
            "Essential hypertension",
            "Vitamin D deficiency",
            "Migraine without aura",
            "Mild intermittent asthma",
            "Hyperlipidemia",
        ];
        const MEDICATIONS: [&str; 6] = [
            "Cetirizine 10 mg tablet, daily",
            "Lisinopril 10 mg tablet, daily",
            "Cholecalciferol 1000 IU, daily",
            "Sumatriptan 50 mg tablet, as needed",
            "Albuterol 90 mcg inhaler, as needed",
            "Atorvastatin 20 mg tablet, nightly",
        ];
        const ALLERGIES: [&str; 4] = ["Penicillin", "Peanuts", "Latex", "No known allergies"];
        let mut conditions = Vec::new();
        let mut medications = Vec::new();
        let mut allergies = Vec::new();
        for source in &self.sources {
            let mut rng = derived_rng(seed, &["report content", human_id, source.id]);
            let pick = |rng: &mut _, list: &[&str], count| -> Vec<String> {
                list.choose_multiple(rng, count)
                    .map(|entry| format!("{entry} ({})", source.name))
                    .collect()
            };
            conditions.extend(pick(&mut rng, &CONDITIONS, 2));
            medications.extend(pick(&mut rng, &MEDICATIONS, 2));
            allergies.extend(pick(&mut rng, &ALLERGIES, 1));
        }
        let sources = self
            .sources
            .iter()
            .map(|s| format!("{} ({})", s.name, s.organization))
            .collect();
        vec![
            ("Sources", sources),
            ("Conditions", conditions),
            ("Medications", medications),
            ("Allergies", allergies),
        ]
    }
}
