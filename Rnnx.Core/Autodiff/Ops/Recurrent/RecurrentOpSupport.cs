using System.Buffers;
using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>Tape plumbing shared by the fused recurrent sequence ops (recording, scratch memory, gradient accumulation).</summary>
internal static class RecurrentOpSupport
{
    /// <summary>Whether the op must be recorded: the tape records and any input requires a gradient.</summary>
    public static Tape? Recorder(TensorData a, TensorData b, TensorData c, TensorData? d, TensorData e, TensorData? f)
    {
        var tape = Tape.RecordingTape();
        if (tape is null) return null;
        bool any = a.RequiresGrad || b.RequiresGrad || c.RequiresGrad || (d?.RequiresGrad ?? false) || e.RequiresGrad || (f?.RequiresGrad ?? false);
        return any ? tape : null;
    }

    /// <summary>
    /// LSTM inference (nothing recorded) on at least this many series runs time-major: with the (batch, time) row layout
    /// a step's gate rows are T·4U values apart, so a large batch spreads every step over megabytes and thousands of
    /// pages (1000 series x 50 steps x 80 gates is 16 MB); time-major, a step is one contiguous block. Same numbers.
    /// </summary>
    public const int TimeMajorMinBatch = 64;

    /// <summary>
    /// Scratch memory for a fused op: from the active tape or, with no tape, from one <see cref="ArrayPool{T}"/>
    /// rental; either way given back by <see cref="Dispose"/> (buffers saved for backward are tape tensors, kept).
    /// </summary>
    public ref struct Scratch<T> where T : unmanaged
    {
        private readonly Tape? _tape;
        private readonly int _mark;
        private T[]? _rented;
        private int _pos;

        public Scratch(Tape? tape, int capacityWithoutTape)
        {
            _tape = tape;
            _mark = tape?.ScratchMark ?? 0;
            _rented = tape is null ? ArrayPool<T>.Shared.Rent(Math.Max(capacityWithoutTape, 1)) : null;
            _pos = 0;
        }

        /// <summary>A buffer of <paramref name="length"/> elements, not zeroed.</summary>
        public Span<T> Get(int length)
        {
            if (_tape is not null) return _tape.Scratch<T>(length);
            var s = _rented.AsSpan(_pos, length);
            _pos += length;
            return s;
        }

        /// <summary>A zeroed buffer.</summary>
        public Span<T> Zeroed(int length)
        {
            var s = Get(length);
            s.Clear();
            return s;
        }

        /// <summary>A buffer saved for backward (a tape tensor) when <paramref name="saved"/> is set, else scratch.</summary>
        public Span<T> Saved(Tape? recorder, Shape shape, DType dtype, out TensorData? saved)
        {
            if (recorder is not null)
            {
                saved = recorder.NewData(shape, dtype);
                return saved.Span<T>();
            }
            saved = null;
            return Get(shape.Size);
        }

        public void Dispose()
        {
            _tape?.ReleaseScratch(_mark);
            if (_rented is not null) ArrayPool<T>.Shared.Return(_rented);
            _rented = null;
        }
    }

    /// <summary>Elements <see cref="PackRecurrent"/> writes (same arguments).</summary>
    public static int PackedRecurrentLength<T>(int units, int g, int split, bool transposed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (split == 0) return transposed ? PackedGemm.PackedLength<T>(g, units) : PackedGemm.PackedLength<T>(units, g);
        return transposed
            ? PackedGemm.PackedLength<T>(split, units) + PackedGemm.PackedLength<T>(g - split, units)
            : PackedGemm.PackedLength<T>(units, split) + PackedGemm.PackedLength<T>(units, g - split);
    }

    /// <summary>
    /// The recurrent kernel R (U × g) packed once per call into <paramref name="space"/> for every step's product:
    /// op(B) = R for h·R, or Rᵀ (g × U) for dZ·Rᵀ when <paramref name="transposed"/>. Whole when
    /// <paramref name="split"/> is 0; otherwise gate columns [0, split) (returned) and [split, g)
    /// (<paramref name="tail"/>) apart, for GRU's reset-before path, which multiplies the candidate's block on its own.
    /// </summary>
    public static Span<T> PackRecurrent<T>(ReadOnlySpan<T> r, int units, int g, int split, bool transposed, Span<T> space, out Span<T> tail)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int first = split == 0 ? g : split;
        int headLength = transposed ? PackedGemm.PackedLength<T>(first, units) : PackedGemm.PackedLength<T>(units, first);
        var head = space[..headLength];
        if (transposed) PackedGemm.Pack<T>(true, first, units, r, g, head);
        else PackedGemm.Pack<T>(false, units, first, r, g, head);
        tail = default;
        if (split == 0) return head;
        int tailLength = transposed ? PackedGemm.PackedLength<T>(g - split, units) : PackedGemm.PackedLength<T>(units, g - split);
        tail = space.Slice(headLength, tailLength);
        if (transposed) PackedGemm.Pack<T>(true, g - split, units, r[split..], g, tail);
        else PackedGemm.Pack<T>(false, units, g - split, r[split..], g, tail);
        return head;
    }

    /// <summary>Adds <paramref name="src"/> into the gradient of <paramref name="input"/> when it requires one.</summary>
    public static void AccumulateInto<T>(Tape tape, TensorData input, ReadOnlySpan<T> src) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (input.RequiresGrad) Elementwise.AddInPlace(tape.Grad<T>(input), src);
    }
}

/// <summary>
/// The per-sequence dropout masks of a fused recurrent op (<see cref="RecurrentSequenceOptions.InputMasks"/>,
/// <see cref="RecurrentSequenceOptions.RecurrentMasks"/>): (B, G, F) and (B, G, U), or null. Each GEMM that a mask
/// touches becomes per-gate products on the masked rows (<see cref="MaskedGemm"/> and its two gradients), for small
/// gates all in one <see cref="SmallGateGemm"/> or <see cref="GateGemm"/> pass.
/// </summary>
internal readonly record struct SequenceMasks(TensorData? Input, TensorData? Recurrent)
{
    public static SequenceMasks Of(in RecurrentSequenceOptions options) => new(options.InputMasks?.Data, options.RecurrentMasks?.Data);

    public bool Any => Input is not null || Recurrent is not null;

    /// <summary>Appends the masks present to the tape's extra inputs; returns how many (read back with <see cref="Read"/>).</summary>
    public int AppendTo(Tape tape)
    {
        if (Input is not null) tape.ExtraInputs.Add(Input);
        if (Recurrent is not null) tape.ExtraInputs.Add(Recurrent);
        return (Input is null ? 0 : 1) + (Recurrent is null ? 0 : 1);
    }

    /// <summary>The masks appended at <paramref name="start"/> by <see cref="AppendTo"/>.</summary>
    public static SequenceMasks Read(Tape tape, int start, bool input, bool recurrent) =>
        new(input ? tape.ExtraInputs[start] : null, recurrent ? tape.ExtraInputs[start + (input ? 1 : 0)] : null);

    /// <summary>
    /// Whether gate blocks of red × width use the <see cref="GateGemm"/> layout: several gates, and sizes it takes
    /// (one gate is a plain GEMM on the masked rows, packed as <see cref="PackedGemm"/> packs it).
    /// </summary>
    private static bool GateLayout<T>(int gates, int red, int width) where T : unmanaged => gates > 1 && GateGemm.Supports<T>(red, width);

    /// <summary>
    /// Whether gate blocks of red × width run on <see cref="SmallGateGemm"/> (one to three vectors per gate: B row-major
    /// as it is, or transposed for the input gradient, each gate's product from registers into its destination):
    /// within <see cref="GateLayout{T}"/>'s sizes (larger blocks run as per-gate GEMMs, which split over a team), and
    /// decided before it; the same masked copies and kept rows.
    /// </summary>
    private static bool SmallLayout<T>(int gates, int red, int width) where T : unmanaged =>
        gates > 1 && SmallGateGemm.Supports<T>(red, width) && red * width <= GateGemm.MaxGateArea;

    /// <summary>Elements <see cref="PackGates"/> writes for <paramref name="gates"/> gate blocks of k × n (n × k <paramref name="transposed"/>).</summary>
    public static int PackedGatesLength<T>(int gates, int k, int n, bool transposed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int red = transposed ? n : k, width = transposed ? k : n;
        if (SmallLayout<T>(gates, red, width)) return checked(gates * red * width);
        return GateLayout<T>(gates, red, width) ? GateGemm.PackedLength<T>(gates, red, width) : checked(gates * PackedGemm.PackedLength<T>(red, width));
    }

    /// <summary>
    /// Packs the gate blocks of b (k × G·n, ldb; gate g's columns g·n ..) once per op call: as op(B_g) = b_g (k × n)
    /// for <see cref="MaskedGemm"/>, or with <paramref name="transposed"/> as op(B_g) = b_gᵀ (n × k) for
    /// <see cref="MaskedGemmInputGrad"/>. For <see cref="SmallGateGemm"/> b's gate blocks row-major (k × G·n), or
    /// transposed gate after gate (G·n × k); all gates in one <see cref="GateGemm"/> layout when that applies; else gate
    /// g's <see cref="PackedGemm"/> block at g · (its packed length).
    /// </summary>
    public static void PackGates<T>(int gates, int k, int n, ReadOnlySpan<T> b, int ldb, bool transposed, Span<T> packed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int red = transposed ? n : k, width = transposed ? k : n;
        if (SmallLayout<T>(gates, red, width))
        {
            int gn = gates * n;
            for (int q = 0; q < k; q++)
            {
                var row = b.Slice(q * ldb, gn);
                if (!transposed) row.CopyTo(packed.Slice(q * gn, gn));
                else for (int c = 0; c < gn; c++) packed[c * k + q] = row[c];
            }
            return;
        }
        if (GateLayout<T>(gates, red, width))
        {
            GateGemm.Pack<T>(gates, red, width, b, ldb, transposed, packed);
            return;
        }
        int length = PackedGemm.PackedLength<T>(red, width);
        for (int g = 0; g < gates; g++)
        {
            if (transposed) PackedGemm.Pack<T>(true, n, k, b[(g * n)..], ldb, packed.Slice(g * length, length));
            else PackedGemm.Pack<T>(false, k, n, b[(g * n)..], ldb, packed.Slice(g * length, length));
        }
    }

    /// <summary>Elements <see cref="PackGatesAndLast"/> writes.</summary>
    public static int PackedGatesAndLastLength<T>(int gates, int units, bool transposed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => checked(PackedGatesLength<T>(gates, units, units, transposed) + PackedGemm.PackedLength<T>(units, units));

    /// <summary>
    /// A recurrent kernel r (U × G·U) packed by gate blocks (<see cref="PackGates"/>) and, apart, its last gate's block
    /// as <see cref="PackedGemm"/> packs it, which is returned: GRU's reset-before candidate multiplies r ⊙ (h ⊙ m_h)
    /// by R_h (or its gradient by R_hᵀ) on its own.
    /// </summary>
    public static Span<T> PackGatesAndLast<T>(int gates, int units, ReadOnlySpan<T> r, bool transposed, Span<T> packed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int length = PackedGatesLength<T>(gates, units, units, transposed);
        PackGates<T>(gates, units, units, r, gates * units, transposed, packed[..length]);
        var last = packed.Slice(length, PackedGemm.PackedLength<T>(units, units));
        PackedGemm.Pack<T>(transposed, units, units, r[((gates - 1) * units)..], gates * units, last);
        return last;
    }

    /// <summary>Elements of the scratch <see cref="MaskedGemm"/> needs (same arguments).</summary>
    public static int GemmScratchLength<T>(int gates, int rows, int n, int k) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => SmallLayout<T>(gates, k, n) || GateLayout<T>(gates, k, n) ? checked(rows * gates * k) : checked(rows * k);

    /// <summary>Elements of the scratch <see cref="MaskedGemmInputGrad"/> needs (same arguments).</summary>
    public static int InputGradScratchLength<T>(int gates, int rows, int n, int k) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => SmallLayout<T>(gates, n, k) ? 0 : !GateLayout<T>(gates, n, k) ? checked(rows * k) : n > 1 ? 0 : checked(rows * GateGemm.PaddedWidth<T>(gates, k));

    /// <summary>Rows a whole-sequence masked product takes at a time (its masked copy or padded product stays in L1).</summary>
    private const int ChunkTarget = 96;

    /// <summary>
    /// Rows per chunk of a masked product over <paramref name="rows"/> rows: a whole number of mask rows (so every chunk
    /// starts at a mask row) of about <see cref="ChunkTarget"/> rows. The chunks give the same bits as one pass: every
    /// element is its own sum over the reduction, whichever rows are computed together.
    /// </summary>
    private static int ChunkRows(int rows, int rowsPerMask) => Math.Max(1, Math.Min(rows, Math.Max(1, ChunkTarget / rowsPerMask) * rowsPerMask));

    /// <summary>
    /// c[:, g·n ..] (+)= (a ⊙ m_g)·b_g for every gate g: the masked form of c (+)= a·b with b's columns in gate blocks
    /// of n, packed by <see cref="PackGates"/> (a rows × k, lda; scratch of <see cref="GemmScratchLength"/>). Only the
    /// first <paramref name="usedGates"/> gates when given (GRU's reset-before path projects z and r this way, the
    /// candidate separately). With <paramref name="keptLd"/> (<see cref="SmallGateGemm"/> or gate layout only,
    /// <see cref="KeepsMaskedRows"/>) the masked rows go into <paramref name="scratch"/> rows keptLd apart and stay there
    /// for the caller. With either: one masked copy of a for all gates side by side, then one product over all gates into
    /// c (the per-gate GEMMs' bits), a chunk of rows at a time; otherwise one GEMM per gate on the masked rows.
    /// </summary>
    public static void MaskedGemm<T>(int gates, int rows, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> masks, int rowsPerMask,
        ReadOnlySpan<T> packedB, Span<T> c, int ldc, bool accumulate, Span<T> scratch, int usedGates = -1, int keptLd = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int used = usedGates < 0 ? gates : usedGates;
        bool small = SmallLayout<T>(gates, k, n);
        if (small || GateLayout<T>(gates, k, n))
        {
            int ldm = keptLd > 0 ? keptLd : gates * k, chunk = ChunkRows(rows, rowsPerMask);
            for (int r0 = 0; r0 < rows; r0 += chunk)
            {
                int cr = Math.Min(chunk, rows - r0);
                var hm = keptLd > 0 ? scratch[(r0 * ldm)..] : scratch[..(cr * ldm)];
                var ar = a[(r0 * lda)..];
                var mr = masks[(r0 / rowsPerMask * gates * k)..];
                MaskedRowKernels.MultiplyGates<T>(ar, lda, cr, k, used, mr, gates * k, rowsPerMask, hm, ldm, k);
                if (small) SmallGateGemm.Multiply<T>(used, cr, k, n, hm, ldm, k, packedB, gates * n, c[(r0 * ldc)..], ldc, accumulate);
                else GateGemm.Multiply<T>(gates, used, cr, k, n, hm, ldm, k, packedB, c[(r0 * ldc)..], ldc, accumulate);
            }
            return;
        }
        if (keptLd > 0) throw new ArgumentException("MaskedGemm: masked rows are kept only where all gates run in one pass (KeepsMaskedRows).");
        int length = PackedGemm.PackedLength<T>(k, n);
        for (int g = 0; g < used; g++)
        {
            MaskedRowKernels.Multiply<T>(a, lda, rows, k, masks[(g * k)..], gates * k, rowsPerMask, scratch);
            PackedGemm.Gemm<T>(false, rows, n, k, scratch, k, packedB.Slice(g * length, length), c[(g * n)..], ldc, accumulate);
        }
    }

    /// <summary>
    /// Whether <see cref="MaskedGemm"/> can keep the masked rows it multiplies (all gates' blocks side by side, rows
    /// keptLd apart in its scratch) for <see cref="KeptRowsWeightGrad"/>, which then needs no masked copy of its own.
    /// </summary>
    public static bool KeepsMaskedRows<T>(int gates, int n, int k) where T : unmanaged => SmallLayout<T>(gates, k, n) || GateLayout<T>(gates, k, n);

    /// <summary>
    /// <see cref="MaskedGemmWeightGrad"/> from the masked rows <see cref="MaskedGemm"/> kept: db[:, g·n ..] +=
    /// keptᵀ[g·k .., :]·dc[:, g·n ..], gate g's rows at kept[r·ldKept + g·k ..]; and the same for a second product kept
    /// beside it (k2 columns per gate at kept[r·ldKept + <paramref name="column2"/> + g·k2 ..] into db2; none when k2 is 0),
    /// which reads the same dc. Each gate's product is the same GEMM as the copy there, run one k block of
    /// <see cref="GemmCore.KBlock"/> rows at a time for all gates and both products, so that a block of dc and of the kept
    /// rows is read from the cache by all of them: the engine cuts its reduction into those same blocks and adds each
    /// into C, so the same bits.
    /// </summary>
    public static void KeptRowsWeightGrad<T>(int gates, int rows, int n, int k, ReadOnlySpan<T> kept, int ldKept, ReadOnlySpan<T> dc, int lddc,
        Span<T> db, int lddb, int k2 = 0, int column2 = 0, Span<T> db2 = default) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r0 = 0; r0 < rows; r0 += GemmCore.KBlock)
        {
            int kr = Math.Min(GemmCore.KBlock, rows - r0);
            var keptBlock = kept[(r0 * ldKept)..];
            var dcBlock = dc[(r0 * lddc)..];
            for (int g = 0; g < gates; g++)
            {
                if (k > 0) MatMulKernels.Gemm<T>(true, false, k, n, kr, keptBlock[(g * k)..], ldKept, dcBlock[(g * n)..], lddc, db[(g * n)..], lddb, true);
                if (k2 > 0) MatMulKernels.Gemm<T>(true, false, k2, n, kr, keptBlock[(column2 + g * k2)..], ldKept, dcBlock[(g * n)..], lddc, db2[(g * n)..], lddb, true);
            }
        }
    }

    /// <summary>
    /// The weight gradient of <see cref="MaskedGemm"/>: db[:, g·n ..] += (a ⊙ m_g)ᵀ·dc[:, g·n ..], one GEMM per gate over
    /// all rows (scratch: rows × k).
    /// </summary>
    public static void MaskedGemmWeightGrad<T>(int gates, int rows, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> masks, int rowsPerMask,
        ReadOnlySpan<T> dc, int lddc, Span<T> db, int lddb, Span<T> scratch, int usedGates = -1) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int g = 0; g < (usedGates < 0 ? gates : usedGates); g++)
        {
            MaskedRowKernels.Multiply<T>(a, lda, rows, k, masks[(g * k)..], gates * k, rowsPerMask, scratch);
            MatMulKernels.Gemm<T>(true, false, k, n, rows, scratch, k, dc[(g * n)..], lddc, db[(g * n)..], lddb, true);
        }
    }

    /// <summary>
    /// The input gradient of <see cref="MaskedGemm"/>: da (rows × k, ldda) += Σ_g (dc[:, g·n ..]·b_gᵀ) ⊙ m_g, with the
    /// b_gᵀ packed by <see cref="PackGates"/> (transposed), scratch of <see cref="InputGradScratchLength"/>: the
    /// products, then a masked add per gate in gate order. Gates of one to three vectors in one
    /// <see cref="SmallGateGemm.MaskedInputGrad{T}"/> pass (b_gᵀ row-major, gate after gate); in the <see cref="GateGemm"/>
    /// layout one pass for all gates whose tiles add their masked products into da
    /// (<see cref="GateGemm.ProductMaskedSum{T}"/>; a one-step reduction through the padded products P), otherwise one
    /// GEMM per gate.
    /// </summary>
    public static void MaskedGemmInputGrad<T>(int gates, int rows, int n, int k, ReadOnlySpan<T> dc, int lddc, ReadOnlySpan<T> packedBt,
        ReadOnlySpan<T> masks, int rowsPerMask, Span<T> da, int ldda, Span<T> scratch, int usedGates = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int used = usedGates < 0 ? gates : usedGates;
        if (SmallLayout<T>(gates, n, k))
        {
            SmallGateGemm.MaskedInputGrad<T>(used, rows, n, k, dc, lddc, packedBt, k, masks, gates * k, rowsPerMask, da, ldda);
            return;
        }
        if (GateLayout<T>(gates, n, k))
        {
            int ldp = GateGemm.PaddedWidth<T>(gates, k), wp = GateGemm.PaddedGateWidth<T>(k), chunk = ChunkRows(rows, rowsPerMask);
            for (int r0 = 0; r0 < rows; r0 += chunk)
            {
                int cr = Math.Min(chunk, rows - r0);
                var mr = masks[(r0 / rowsPerMask * gates * k)..];
                var dar = da[(r0 * ldda)..];
                if (n > 1)
                {
                    GateGemm.ProductMaskedSum<T>(gates, used, cr, n, k, dc[(r0 * lddc)..], lddc, n, packedBt, mr, gates * k, rowsPerMask, dar, ldda);
                    continue;
                }
                var p = scratch[..(cr * ldp)];
                GateGemm.Product<T>(gates, used, cr, n, k, dc[(r0 * lddc)..], lddc, n, packedBt, p, ldp);
                MaskedRowKernels.AddMultipliedGates<T>(p, ldp, wp, cr, k, used, mr, gates * k, rowsPerMask, dar, ldda);
            }
            return;
        }
        int length = PackedGemm.PackedLength<T>(n, k);
        for (int g = 0; g < used; g++)
        {
            PackedGemm.Gemm<T>(false, rows, k, n, dc[(g * n)..], lddc, packedBt.Slice(g * length, length), scratch, k, false);
            MaskedRowKernels.AddMultiplied<T>(scratch, rows, k, masks[(g * k)..], gates * k, rowsPerMask, da, ldda);
        }
    }
}
