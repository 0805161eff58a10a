using Rnnx.Kernels;

namespace Rnnx.Threading;

/// <summary>
/// Threads that the ops of one thread split their large products over (intra-op parallelism). The coordinator
/// <see cref="Open"/>s the team; the owner thread runs its ops inside <see cref="Enter"/>; other threads call
/// <see cref="Serve"/> to help until the owner's scope ends. Ops cut a large product (a big matrix product, one
/// series' recurrent step at many units) into row or column blocks and compute every output element with the same
/// arithmetic as unsplit, so results are bit-identical whatever the team's size and however many threads serve it.
/// </summary>
/// <remarks>
/// Small products (a few microseconds of one core) are never split. A product started while the team works on another
/// (an op inside an op's part, or a second owner thread) runs unsplit on its own thread. No allocation per op.
/// </remarks>
public sealed class OpTeam
{
    private readonly TeamBoard _board = new();

    /// <summary>Threads the current opening splits products for (owner included).</summary>
    public int Size => _board.Size;

    /// <summary>
    /// Opens the team for <paramref name="threads"/> threads (the owner and the threads that will serve it), before any
    /// of them starts.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is less than 1.</exception>
    public void Open(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _board.Open(threads);
    }

    /// <summary>Makes the calling thread the owner until the scope is disposed, which closes the team (serving threads return).</summary>
    public Scope Enter()
    {
        _board.Enter();
        return new Scope(_board);
    }

    /// <summary>Helps the owner's ops until the owner's scope ends (call on a thread other than the owner's, after <see cref="Open"/>).</summary>
    public void Serve() => _board.Serve();

    /// <summary>The owner's scope: disposing it closes the team.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly TeamBoard? _board;

        internal Scope(TeamBoard board) => _board = board;

        /// <summary>Closes the team.</summary>
        public void Dispose() => _board?.Close();
    }
}
