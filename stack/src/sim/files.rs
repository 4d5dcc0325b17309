//! Files placed on a host before its programs start, and what a test reads
//! back of them: the [`Sim`] side of [`crate::fs::ramfs`].

use crate::kernel::ids::HostId;
use crate::sim::Sim;

impl Sim {
    /// Creates the file `path` on `host` holding `bytes` (replacing what it
    /// held), as if it had been written there before the programs start.
    /// Costs nothing on the host's counters.
    pub fn create_file(&mut self, host: HostId, path: &str, bytes: &[u8]) {
        let mut w = self.world.borrow_mut();
        let ino = match w.host(host).ramfs.lookup(path) {
            Some(ino) => ino,
            None => {
                let ino = w.next_inode(host);
                w.host_mut(host).ramfs.create(ino, path);
                ino
            }
        };
        if let Some(inode) = w.host_mut(host).ramfs.inode_mut(ino) {
            inode.mapping.truncate();
            // Within MAX_LFS_FILESIZE for any slice.
            let _ = inode.mapping.write(0, bytes);
        }
    }

    /// Removes the name `path` from `host`'s files, as `rm -f` run there
    /// before its programs use it would; false if there was none.
    pub fn remove_file(&mut self, host: HostId, path: &str) -> bool {
        self.world.borrow_mut().host_mut(host).ramfs.unlink(path)
    }

    /// The bytes of the file `path` on `host`, if it exists.
    pub fn file_contents(&self, host: HostId, path: &str) -> Option<Vec<u8>> {
        let w = self.world.borrow();
        let fs = &w.host(host).ramfs;
        let inode = fs.inode(fs.lookup(path)?)?;
        let mut out = vec![0u8; inode.mapping.size() as usize];
        inode.mapping.read(0, &mut out);
        Some(out)
    }

    /// How many references the page-cache page at `index` of `path` has
    /// (`/proc/kpagecount`): 1 for the cache's own, one more for each pipe
    /// buffer or skb fragment pointing at it. `None` if the file or the
    /// page does not exist.
    pub fn page_count(&self, host: HostId, path: &str, index: u64) -> Option<usize> {
        self.world.borrow().kpagecount(host, path, index)
    }
}
