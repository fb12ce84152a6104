//! Served pages validate against the Qualys DTDs (skipped, saying so, without xmllint or
//! ../shared).

use crate::helpers::*;

const HLD_DTD: &str = "host_list_vm_detection_output.reconstructed.dtd";
const HL_DTD: &str = "host_list_output.dtd";
const KB_DTD: &str = "knowledge_base_vuln_list_output.dtd";
const SR_DTD: &str = "simple_return.docstring.dtd";

#[tokio::test]
async fn detection_pages_validate_against_the_dtd_in_every_shape() {
    let sim = spawn_demo().await;
    let shapes: [&[(&str, &str)]; 4] = [
        &[
            ("action", "list"),
            ("truncation_limit", "0"),
            ("show_igs", "1"),
        ],
        &[
            ("action", "list"),
            ("show_tags", "1"),
            ("show_asset_id", "1"),
            ("arf_kernel_filter", "1"),
            ("show_reopened_info", "1"),
            ("show_qds", "1"),
            ("truncation_limit", "20"),
        ],
        &[
            ("action", "list"),
            ("echo_request", "1"),
            ("truncation_limit", "2"),
        ],
        &[("action", "list"), ("ids", "1")],
    ];
    for (i, p) in shapes.iter().enumerate() {
        let body = text(post(&sim, HLD, p).await).await;
        assert_dtd_valid(body.as_bytes(), HLD_DTD, &format!("HLD shape {i}"));
    }
    let v5 = text(
        post(
            &sim,
            "/api/5.0/fo/asset/host/vm/detection/",
            &[
                ("action", "list"),
                ("show_tags", "1"),
                ("truncation_limit", "10"),
            ],
        )
        .await,
    )
    .await;
    assert_dtd_valid(v5.as_bytes(), HLD_DTD, "HLD /api/5.0 with UNIQUE_VULN_ID");
}

#[tokio::test]
async fn host_list_pages_validate_against_the_dtd() {
    let sim = spawn_demo().await;
    for details in ["None", "Basic", "All", "All/AGs"] {
        let body = text(
            post(
                &sim,
                HOST_LIST,
                &[
                    ("action", "list"),
                    ("details", details),
                    ("show_tags", "1"),
                    ("show_asset_id", "1"),
                    ("truncation_limit", "30"),
                ],
            )
            .await,
        )
        .await;
        assert_dtd_valid(
            body.as_bytes(),
            HL_DTD,
            &format!("Host List details={details}"),
        );
    }
}

#[tokio::test]
async fn knowledge_base_pages_validate_against_the_dtd() {
    let sim = spawn_demo().await;
    for (details, ids) in [
        ("Basic", "1-400000"),
        ("All", "1-400000"),
        ("None", "6,45017"),
        ("Basic", "1"),
    ] {
        let body = text(
            post(
                &sim,
                KB,
                &[("action", "list"), ("details", details), ("ids", ids)],
            )
            .await,
        )
        .await;
        assert_dtd_valid(
            body.as_bytes(),
            KB_DTD,
            &format!("KB details={details} ids={ids}"),
        );
    }
}

#[tokio::test]
async fn error_answers_validate_as_simple_return() {
    let sim =
        spawn_tenant("[[faults]]\nkind = \"rate_limited\"\nroute = \"knowledge_base\"\n").await;
    let answers = [
        post(&sim, HLD, &[("action", "list"), ("bogus", "1")]).await,
        post_as(&sim, HLD, USER, "wrong", &[("action", "list")]).await,
        post_as(&sim, HLD, "quays_ex1", DEMO_PASSWORD, &[("action", "list")]).await,
        post_as(
            &sim,
            HLD,
            "quays_novm1",
            DEMO_PASSWORD,
            &[("action", "list")],
        )
        .await,
        post(&sim, KB, &[("action", "list")]).await,
    ];
    for (i, r) in answers.into_iter().enumerate() {
        let body = text(r).await;
        assert_dtd_valid(body.as_bytes(), SR_DTD, &format!("SIMPLE_RETURN {i}"));
    }
}

#[test]
fn synthetic_pages_validate_against_the_dtds() {
    use qualys_harness::StreamKind;
    use qualys_harness::sim::{SynthOptions, write_page};
    let mut v = Vec::new();
    write_page(&SynthOptions::hosts(40, 9), &mut v).unwrap();
    assert_dtd_valid(&v, HLD_DTD, "synthetic vulnerabilities page");
    let mut opts = SynthOptions::hosts(40, 9);
    opts.stream = StreamKind::VmdrAssets;
    let mut v = Vec::new();
    write_page(&opts, &mut v).unwrap();
    assert_dtd_valid(&v, HL_DTD, "synthetic assets page");
}
