use std::collections::HashSet;
use std::time::Duration;

use datalinks_core::{Error, ErrorCode};
use datalinks_humanapi::{
    HumanApiError, Page, PageRequest, ReportFormat, WellnessList, WellnessRecord,
};
use datalinks_sandbox::humanapi::HumanApiConfig;

use crate::{connected_user, setup, setup_with, Setup};

async fn every_page(
    setup: &Setup,
    token: &datalinks_core::AccessToken,
    list: WellnessList,
) -> Vec<Page<WellnessRecord>> {
    let mut pages = Vec::new();
    let mut next = Some(PageRequest::new(70, 0));
    while let Some(request) = next {
        let page = setup.data.wellness(token, list, request).await.unwrap();
        next = page.next_request();
        pages.push(page);
    }
    pages
}

#[tokio::test]
async fn wellness_lists_page_through_every_record() {
    let setup = setup().await;
    let access = connected_user(&setup, "walker", &["Fitbit", "Withings"]).await;
    // 90 days from two sources; heart rate has four readings a day.
    for (list, expected) in [
        (WellnessList::ActivitySummaries, 180_usize),
        (WellnessList::Sleeps, 180),
        (WellnessList::HeartRateReadings, 720),
    ] {
        let pages = every_page(&setup, &access.token, list).await;
        assert_eq!(pages.len(), expected.div_ceil(70), "{list:?}");
        assert!(pages.iter().all(|page| page.total == expected as u64));
        let records: Vec<&WellnessRecord> = pages.iter().flat_map(|p| &p.items).collect();
        assert_eq!(records.len(), expected, "{list:?}");
        let ids: HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), expected, "no record twice in {list:?}");
        let sources: HashSet<&str> = records.iter().map(|r| r.source.as_str()).collect();
        assert_eq!(sources, HashSet::from(["fitbit", "withings"]));
    }
    let first = setup
        .data
        .wellness(&access.token, WellnessList::Sleeps, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(first.items.len(), 50);
    assert!(first.items[0].details.contains_key("timeAsleep"));
    assert_eq!(first.items[0].details["date"], "2024-12-31");
}

#[tokio::test]
async fn sources_carry_their_sync_status() {
    let syncing = setup_with(HumanApiConfig {
        sync_duration: Duration::from_secs(3600),
        ..HumanApiConfig::default()
    })
    .await;
    let access = connected_user(&syncing, "early", &["Fitbit"]).await;
    let sources = syncing.data.sources(&access.token).await.unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].source_name, "Fitbit");
    assert_eq!(sources[0].sync_status.status, "pending");
    assert_eq!(sources[0].sync_status.synched_at, None);
    let nothing_yet = syncing
        .data
        .wellness(&access.token, WellnessList::Sleeps, PageRequest::default())
        .await
        .unwrap();
    assert_eq!((nothing_yet.total, nothing_yet.has_more()), (0, false));

    let synced = setup().await;
    let access = connected_user(&synced, "later", &["Fitbit", "Starfleet Pharmacy"]).await;
    let sources = synced.data.sources(&access.token).await.unwrap();
    let names: Vec<&str> = sources.iter().map(|s| s.source_name.as_str()).collect();
    assert_eq!(names, ["Fitbit", "Starfleet Pharmacy"]);
    assert!(sources.iter().all(|s| s.sync_status.status == "completed"));
    assert_eq!(
        sources[0].history_sync.oldest_date.as_deref(),
        Some("2024-10-03")
    );
}

#[tokio::test]
async fn report_downloads_match_what_human_api_serves() {
    let setup = setup().await;
    let access = connected_user(
        &setup,
        "patient",
        &["Demo Health Clinic", "Starfleet Pharmacy"],
    )
    .await;
    let reports = setup
        .data
        .reports(&access.token, PageRequest::new(3, 0))
        .await
        .unwrap();
    assert_eq!((reports.items.len(), reports.total), (3, 4));
    assert!(reports.has_more());
    let rest = setup
        .data
        .reports(&access.token, reports.next_request().unwrap())
        .await
        .unwrap();
    assert_eq!((rest.items.len(), rest.has_more()), (1, false));
    let unity = &reports.items[0];
    assert_eq!(
        (unity.kind.as_str(), unity.name.as_str()),
        ("unity", "Unity Report")
    );
    assert_eq!(unity.sources.len(), 2);

    let dir = tempfile::tempdir().unwrap();
    let download = |format, name: &str| {
        let dest = dir.path().join(name);
        let (data, token, id) = (setup.data.clone(), access.token.clone(), unity.id.clone());
        async move {
            let written = data
                .download_report(&token, &id, format, &dest)
                .await
                .unwrap();
            let on_disk = std::fs::read(&dest).unwrap();
            assert_eq!(written, on_disk.len() as u64);
            on_disk
        }
    };
    let pdf = download(ReportFormat::Pdf, "unity.pdf").await;
    let served = reqwest::Client::new()
        .get(format!(
            "{}/medical/reports/{}/raw?format=pdf",
            setup.hapi.data_api_url(),
            unity.id
        ))
        .bearer_auth(access.token.expose())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(pdf, served.as_ref());
    assert!(pdf.starts_with(b"%PDF-1.4"));
    assert!(pdf.ends_with(b"%%EOF\n"));
    assert!(pdf.windows(12).any(|w| w == b"Unity Report"));
    assert!(!dir.path().join("unity.pdf.part").exists());

    let json: serde_json::Value =
        serde_json::from_slice(&download(ReportFormat::Json, "unity.json").await).unwrap();
    assert_eq!(json["id"], unity.id.as_str());
    assert!(json.to_string().contains("Starfleet Pharmacy"));
    let html = String::from_utf8(download(ReportFormat::Html, "unity.html").await).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<h1>Unity Report</h1>"));

    let missing = dir.path().join("missing.pdf");
    let error = setup
        .data
        .download_report(
            &access.token,
            "000000000000000000000000",
            ReportFormat::Pdf,
            &missing,
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound);
    assert!(!missing.exists());
}

#[tokio::test]
async fn expired_access_tokens_are_rejected_until_a_new_one_is_minted() {
    let setup = setup().await;
    let access = connected_user(&setup, "sleeper", &["Fitbit", "Demo Health Clinic"]).await;
    let reports = setup
        .data
        .reports(&access.token, PageRequest::default())
        .await
        .unwrap();
    setup.hapi.expire_tokens();

    let error = setup.data.profile(&access.token).await.unwrap_err();
    let HumanApiError::TokenRejected { detail } = &error else {
        panic!("{error:?}");
    };
    assert!(detail.contains("expired"), "{detail}");
    assert_eq!(Error::from(error).code, ErrorCode::ReconnectNeeded);
    let listing = setup
        .data
        .wellness(
            &access.token,
            WellnessList::HeartRateReadings,
            PageRequest::default(),
        )
        .await;
    assert!(matches!(listing, Err(HumanApiError::TokenRejected { .. })));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("report.pdf");
    let download = setup
        .data
        .download_report(
            &access.token,
            &reports.items[0].id,
            ReportFormat::Pdf,
            &dest,
        )
        .await;
    assert!(matches!(download, Err(HumanApiError::TokenRejected { .. })));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let fresh = setup.auth.access_token("sleeper").await.unwrap();
    assert!(setup.data.profile(&fresh.token).await.is_ok());
    assert_eq!(setup.hapi.stats().data_api_auth_failures, 3);
}
