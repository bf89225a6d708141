#pragma once
// unique_ptr aliases for libgit2 handles; only files that adapt libgit2 include this.
#include <git2.h>
#include <memory>

namespace fjord {

template <auto Fn> struct git_deleter {
    template <class T> void operator()(T *p) const { Fn(p); }
};
using git_repository_ptr = std::unique_ptr<git_repository, git_deleter<git_repository_free>>;
using git_remote_ptr = std::unique_ptr<git_remote, git_deleter<git_remote_free>>;
using git_commit_ptr = std::unique_ptr<git_commit, git_deleter<git_commit_free>>;
using git_tree_ptr = std::unique_ptr<git_tree, git_deleter<git_tree_free>>;
using git_tree_entry_ptr = std::unique_ptr<git_tree_entry, git_deleter<git_tree_entry_free>>;
using git_blob_ptr = std::unique_ptr<git_blob, git_deleter<git_blob_free>>;
using git_odb_ptr = std::unique_ptr<git_odb, git_deleter<git_odb_free>>;
using git_object_ptr = std::unique_ptr<git_object, git_deleter<git_object_free>>;
using git_reference_ptr = std::unique_ptr<git_reference, git_deleter<git_reference_free>>;
using git_diff_ptr = std::unique_ptr<git_diff, git_deleter<git_diff_free>>;
using git_reference_iterator_ptr = std::unique_ptr<git_reference_iterator, git_deleter<git_reference_iterator_free>>;

/// The message of libgit2's last error, or a fallback.
inline const char *git_last_message() {
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

} // namespace fjord
