# The layer order of include/b2m, written once. A header in folder F may include headers of
# F itself and of folders in earlier entries; never of the other folders of its own entry
# (they are independent of each other) nor of later entries. Used by the layer-order test
# (tests/check_layers.cmake); docs/architecture.md's table follows it.
set(B2M_LAYERS
  "core"                      # tensors, gemm, threads, rng, errors
  "autodiff|optim|brain|data" # expression graphs | optimisers | neural-data tools | batches and tags
  "nn|sim"                    # layers and students | simulated subjects
  "loss|models"               # sources, terms, objectives | ready-made students
  "train"                     # trainer, fit, callbacks, checkpoints
  "report|io|testing"         # statistics and plots | model weights in and out | checks for user parts
  "mpi"                       # scale-out (optional component)
)
