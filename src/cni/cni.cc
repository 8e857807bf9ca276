// Placeholder until the CNI client lands (src/cni is owned by its author this stop).
namespace berth::cni {}
