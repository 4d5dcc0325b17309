//! Hidden test: the speed floor. The reference moves over a GiB/s by
//! reference in a debug build; 100 MiB/s leaves room for any ring that
//! does not copy pages or walk the whole ring per operation.

lab_receipt::graded! {
    fn at_least_100_mib_per_s() {
        let (bytes, secs, mibs) = lab_zerocopy::measure_splice(1 << 30, 1.0);
        println!("{bytes} bytes in {secs:.3} s: {mibs:.1} MiB/s");
        assert!(mibs >= 100.0, "{mibs:.1} MiB/s is below the 100 MiB/s floor");
    }
}
