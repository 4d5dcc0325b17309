//! Public test: how fast your ring moves pages by reference. The grader
//! reports the figure (MiB/s); a hidden test asks for at least 100 MiB/s.

lab_receipt::graded! {
    fn pipe_splice_speed() {
        let (bytes, secs, mibs) = lab_zerocopy::measure_splice(4 << 30, 1.0);
        println!("{bytes} bytes in {secs:.3} s");
        assert!(bytes > 0);
        lab_zerocopy::report_figure("pipe_splice", mibs, "MiB/s");
        lab_receipt::figure("pipe_splice", mibs);
    }
}
