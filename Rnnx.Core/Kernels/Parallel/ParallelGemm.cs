using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>
/// Splits a large GEMM or GEMV over the current thread's team (<see cref="TeamBoard"/>): into row blocks (multiples
/// of the 4-row tile, or whole groups of a grouped plan) or column blocks (multiples of <see cref="ColumnStep"/>, so every block keeps the vector paths).
/// Each output element is computed by exactly the arithmetic of the unsplit product: the engine sums an element's
/// products in increasing k order in one accumulator whatever tile, vector width or block it is in, and adds the old C
/// once; so the results do not depend on the number of threads.
/// </summary>
internal static unsafe class ParallelGemm
{
    /// <summary>Multiply-adds below which a product is not split: a few microseconds of one core, well above a loop's hand-off.</summary>
    internal const long MinWork = 1 << 17;

    /// <summary>Column blocks are multiples of this (wider than any vector, so no block falls back to scalar code).</summary>
    internal const int ColumnStep = 64;

    /// <summary>Row blocks hold at least this many rows.</summary>
    private const int MinRows = 8;

    /// <summary>Runs <paramref name="p"/>, split over the current team when it is large enough.</summary>
    public static void Run<T>(in GemmPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int size = TeamBoard.CurrentSize;
        if (size <= 1 || (long)p.M * p.N * p.K.Outer * p.K.Inner < MinWork)
        {
            GemmCore.Run(p);
            return;
        }
        int rowParts = RowBlocks(p);
        int colParts = p.N / ColumnStep;
        int parts = Math.Min(size, Math.Max(rowParts, colParts));
        if (parts <= 1)
        {
            GemmCore.Run(p);
            return;
        }
        var job = GemmJob<T>.ForThread();
        job.Plan = p;
        job.Parts = parts;
        job.ByColumns = colParts > rowParts;
        TeamBoard.For(parts, job);
        job.Plan = default;
    }

    /// <summary>
    /// Parts a row split of <paramref name="p"/> over the current team takes (1: run it alone): as many as the team has
    /// threads, at most one per group of a grouped plan or per <see cref="MinRows"/> rows of a plain one, and 1 below
    /// <see cref="MinWork"/>.
    /// </summary>
    internal static int RowParts<T>(in GemmPlan<T> p) where T : unmanaged
    {
        int size = TeamBoard.CurrentSize;
        if (size <= 1 || (long)p.M * p.N * p.K.Outer * p.K.Inner < MinWork)
            return 1;
        return Math.Max(1, Math.Min(size, RowBlocks(p)));
    }

    /// <summary>
    /// Row blocks <paramref name="p"/> can be cut into: its groups when grouped (a convolution folding the batch into M
    /// is split between whole groups: its rows are evenly strided only inside a group), else one per
    /// <see cref="MinRows"/> rows.
    /// </summary>
    private static int RowBlocks<T>(in GemmPlan<T> p) where T : unmanaged
    {
        int groups = p.RowsPerGroup >= p.M ? 1 : p.M % p.RowsPerGroup == 0 ? p.M / p.RowsPerGroup : 0;
        return groups == 1 ? p.M / MinRows : groups;
    }

    /// <summary>
    /// Row block <paramref name="part"/> of <paramref name="parts"/> of <paramref name="p"/>: whole groups of a grouped
    /// plan, else rows at multiples of the 4-row tile.
    /// </summary>
    internal static GemmPlan<T> RowBlock<T>(in GemmPlan<T> p, int parts, int part) where T : unmanaged
    {
        var q = p;
        if (q.RowsPerGroup < q.M)
        {
            var (g0, g1) = Block(q.M / q.RowsPerGroup, parts, part, 1);
            q.M = (g1 - g0) * q.RowsPerGroup;
            q.A += g0 * q.AGroup;
            q.C += g0 * q.CGroup;
        }
        else
        {
            var (r0, r1) = Block(q.M, parts, part, 4);
            q.M = r1 - r0;
            q.RowsPerGroup = Math.Max(q.M, 1);
            q.A += r0 * q.ARow;
            q.C += r0 * q.CRow;
        }
        return q;
    }

    /// <summary>
    /// Runs a packed product (<see cref="PackedGemmCore"/>), split over the current team when it is large enough: into
    /// panel ranges when there are at least as many panels as row tiles (small batches), else into row ranges at
    /// multiples of the tallest tile. Panels own disjoint columns, so parts never write the same element.
    /// </summary>
    public static void RunPacked<T>(in PackedPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int size = TeamBoard.CurrentSize;
        int panels = p.PanelEnd - p.PanelStart;
        int tiles = PackedGemmCore.Tiles(p.RowEnd - p.RowStart);
        bool byPanels = panels >= tiles;
        int parts = Math.Min(size, byPanels ? panels : tiles);
        if (parts <= 1 || (long)p.M * p.N * p.K < MinWork)
        {
            PackedGemmCore.Run(p);
            return;
        }
        var job = PackedJob<T>.ForThread();
        job.Plan = p;
        job.Parts = parts;
        job.ByPanels = byPanels;
        TeamBoard.For(parts, job);
        job.Plan = default;
    }

    /// <summary>y[0..n) (+)= x·B (<see cref="GemvCore.Run{T}"/>), split into column blocks over the current team when large enough.</summary>
    public static void Gemv<T>(int n, int k, T* x, nint incx, T* b, nint ldb, T* y, bool accumulate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int parts = Math.Min(TeamBoard.CurrentSize, n / ColumnStep);
        if (parts <= 1 || (long)n * k < MinWork)
        {
            GemvCore.Run(n, k, x, incx, b, ldb, y, accumulate);
            return;
        }
        var job = GemvJob<T>.ForThread();
        (job.N, job.K, job.IncX, job.Ldb, job.Accumulate, job.Parts) = (n, k, incx, ldb, accumulate, parts);
        job.X = x;
        job.B = b;
        job.Y = y;
        TeamBoard.For(parts, job);
        job.X = job.B = job.Y = null;
    }

    /// <summary>
    /// Block <paramref name="part"/> of <paramref name="parts"/> of [0, n): boundaries at multiples of
    /// <paramref name="step"/> (rounded down), the last block ending at n. With n &gt;= parts·step every block is non-empty
    /// and at least <paramref name="step"/> long.
    /// </summary>
    internal static (int Start, int End) Block(int n, int parts, int part, int step)
    {
        int Boundary(int p) => p >= parts ? n : (int)((long)n * p / parts / step * step);
        return (Boundary(part), Boundary(part + 1));
    }

    private sealed class GemmJob<T> : TeamJob where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [ThreadStatic]
        private static GemmJob<T>? t_job;

        public GemmPlan<T> Plan;
        public int Parts;
        public bool ByColumns;

        public static GemmJob<T> ForThread() => t_job ??= new GemmJob<T>();

        public override void Run(int part)
        {
            if (!ByColumns)
            {
                GemmCore.Run(RowBlock(Plan, Parts, part));
                return;
            }
            var q = Plan;
            var (j0, j1) = Block(q.N, Parts, part, ColumnStep);
            q.N = j1 - j0;
            q.B += j0;
            q.C += j0;
            GemmCore.Run(q);
        }
    }

    private sealed class PackedJob<T> : TeamJob where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [ThreadStatic]
        private static PackedJob<T>? t_job;

        public PackedPlan<T> Plan;
        public int Parts;
        public bool ByPanels;

        public static PackedJob<T> ForThread() => t_job ??= new PackedJob<T>();

        public override void Run(int part)
        {
            var q = Plan;
            if (ByPanels)
            {
                var (j0, j1) = Block(q.PanelEnd - q.PanelStart, Parts, part, 1);
                (q.PanelStart, q.PanelEnd) = (q.PanelStart + j0, q.PanelStart + j1);
            }
            else
            {
                var (r0, r1) = Block(q.RowEnd - q.RowStart, Parts, part, PackedGemmCore.MaxRows);
                (q.RowStart, q.RowEnd) = (q.RowStart + r0, q.RowStart + r1);
            }
            PackedGemmCore.Run(q);
        }
    }

    private sealed class GemvJob<T> : TeamJob where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [ThreadStatic]
        private static GemvJob<T>? t_job;

        public int N, K, Parts;
        public T* X, B, Y;
        public nint IncX, Ldb;
        public bool Accumulate;

        public static GemvJob<T> ForThread() => t_job ??= new GemvJob<T>();

        public override void Run(int part)
        {
            var (j0, j1) = Block(N, Parts, part, ColumnStep);
            GemvCore.Run(j1 - j0, K, X, IncX, B + j0, Ldb, Y + j0, Accumulate);
        }
    }
}
