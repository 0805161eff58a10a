using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnnx.Random;

/// <summary>
/// A bit-exact reimplementation of numpy's legacy <c>np.random.RandomState</c> (the generator behind
/// <c>np.random.seed</c>, <c>np.random.rand</c>, <c>np.random.randn</c>, <c>np.random.randint</c>,
/// <c>np.random.permutation</c> and <c>np.random.shuffle</c>): a 32-bit Mersenne Twister (MT19937) with numpy's
/// integer seeding, 53-bit doubles, the legacy polar Box–Muller normal sampler and masked-rejection bounded integers.
/// </summary>
/// <remarks>
/// Seeded with the same value and driven by the same sequence of calls, an instance produces exactly the numbers
/// numpy produces. Instances are not thread-safe.
/// </remarks>
public sealed class NumPyRandomState
{
    /// <summary>Number of 32-bit words in the Mersenne Twister state vector (624).</summary>
    public const int StateLength = 624;

    private const int M = 397;
    private const uint MatrixA = 0x9908b0dfU;
    private const uint UpperMask = 0x80000000U;
    private const uint LowerMask = 0x7fffffffU;

    private readonly uint[] _key = new uint[StateLength];
    private int _pos;
    private bool _hasGauss;
    private double _gauss;

    /// <summary>Creates a generator seeded like <c>np.random.RandomState(seed)</c> / <c>np.random.seed(seed)</c>.</summary>
    /// <param name="seed">The seed, any value in <c>[0, 2**32 - 1]</c>.</param>
    public NumPyRandomState(uint seed) => Seed(seed);

    /// <summary>Creates a generator positioned exactly at a previously captured <paramref name="state"/>.</summary>
    /// <param name="state">A snapshot from <see cref="GetState"/> (or an equivalent numpy <c>get_state()</c> tuple).</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> or its key is null.</exception>
    /// <exception cref="ArgumentException">The key does not hold 624 words or the position is outside <c>[0, 624]</c>.</exception>
    public NumPyRandomState(MT19937State state) => SetState(state);

    /// <summary>
    /// Reseeds like numpy's legacy <c>seed(n)</c> for an integer <c>n</c>: the standard Mersenne Twister
    /// <c>init_genrand</c> (<c>key[i] = 1812433253 * (key[i-1] ^ (key[i-1] &gt;&gt; 30)) + i</c>), and clears the cached
    /// Gaussian value.
    /// </summary>
    /// <param name="seed">The seed, any value in <c>[0, 2**32 - 1]</c>.</param>
    public void Seed(uint seed)
    {
        uint s = seed;
        for (int i = 0; i < StateLength; i++)
        {
            _key[i] = s;
            s = 1812433253U * (s ^ (s >> 30)) + (uint)i + 1U;
        }
        _pos = StateLength;
        _hasGauss = false;
        _gauss = 0.0;
    }

    /// <summary>Captures the complete generator state (a copy: later draws do not modify the returned snapshot).</summary>
    /// <returns>The state, equivalent to numpy's legacy <c>get_state()</c>.</returns>
    public MT19937State GetState() => new((uint[])_key.Clone(), _pos, _hasGauss, _gauss);

    /// <summary>Restores a state captured by <see cref="GetState"/> (the key is copied, so the snapshot stays reusable).</summary>
    /// <param name="state">The state to restore, equivalent to numpy's legacy <c>set_state()</c> argument.</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> or its key is null.</exception>
    /// <exception cref="ArgumentException">The key does not hold 624 words or the position is outside <c>[0, 624]</c>.</exception>
    public void SetState(MT19937State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Key is null)
        {
            throw new ArgumentNullException(nameof(state), "MT19937 state key must not be null.");
        }
        if (state.Key.Length != StateLength)
        {
            throw new ArgumentException(
                $"MT19937 state key must hold exactly {StateLength} words, but it holds {state.Key.Length}.", nameof(state));
        }
        if ((uint)state.Position > StateLength)
        {
            throw new ArgumentException(
                $"MT19937 state position must be in [0, {StateLength}], but it is {state.Position}.", nameof(state));
        }
        state.Key.CopyTo(_key, 0);
        _pos = state.Position;
        _hasGauss = state.HasGauss;
        _gauss = state.Gauss;
    }

    /// <summary>Draws the next raw 32-bit output of the Mersenne Twister (numpy's <c>mt19937_next32</c>).</summary>
    /// <returns>A uniformly distributed 32-bit value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint NextUInt32()
    {
        if (_pos >= StateLength)
        {
            Generate();
        }
        uint y = _key[_pos++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680U;
        y ^= (y << 15) & 0xefc60000U;
        y ^= y >> 18;
        return y;
    }

    /// <summary>
    /// Draws a 64-bit value from two consecutive 32-bit outputs, the first in the high half
    /// (numpy's <c>mt19937_next64</c>, used by its 64-bit bounded integers).
    /// </summary>
    /// <returns>A uniformly distributed 64-bit value.</returns>
    public ulong NextUInt64()
    {
        ulong hi = NextUInt32();
        return (hi << 32) | NextUInt32();
    }

    /// <summary>
    /// Draws a uniform double in <c>[0, 1)</c> with 53 random bits, exactly like numpy's <c>random_sample</c>:
    /// <c>a = next32 &gt;&gt; 5, b = next32 &gt;&gt; 6</c>, result <c>(a * 2**26 + b) / 2**53</c>.
    /// </summary>
    /// <returns>A uniform value in <c>[0, 1)</c>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble()
    {
        uint a = NextUInt32() >> 5;
        uint b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    /// <summary>Fills <paramref name="destination"/> with uniform doubles in <c>[0, 1)</c>, in order (numpy's <c>random_sample</c>).</summary>
    /// <param name="destination">The values to overwrite.</param>
    public void Rand(Span<double> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = NextDouble();
        }
    }

    /// <summary>
    /// Equivalent of <c>np.random.rand(*shape)</c>: uniform doubles in <c>[0, 1)</c> for an array of the given shape,
    /// returned flat in C (row-major) order.
    /// </summary>
    /// <param name="shape">The dimensions; none may be negative. An empty shape draws a single value, like numpy's scalar.</param>
    /// <returns>A new array of <c>product(shape)</c> values.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or the element count overflows.</exception>
    public double[] Rand(params int[] shape)
    {
        var result = new double[ElementCount(shape)];
        Rand(result);
        return result;
    }

    /// <summary>
    /// Draws one standard normal value exactly like numpy's legacy <c>standard_normal</c> / <c>randn</c>
    /// (<c>legacy_gauss</c>): the polar Box–Muller method, returning <c>f * x2</c> and caching <c>f * x1</c> for the next call.
    /// </summary>
    /// <returns>A sample from N(0, 1).</returns>
    public double StandardNormal()
    {
        if (_hasGauss)
        {
            double cached = _gauss;
            _hasGauss = false;
            _gauss = 0.0;
            return cached;
        }

        double x1, x2, r2;
        do
        {
            x1 = 2.0 * NextDouble() - 1.0;
            x2 = 2.0 * NextDouble() - 1.0;
            r2 = x1 * x1 + x2 * x2;
        }
        while (r2 >= 1.0 || r2 == 0.0);

        double f = Math.Sqrt(-2.0 * Math.Log(r2) / r2);
        _gauss = f * x1;
        _hasGauss = true;
        return f * x2;
    }

    /// <summary>Fills <paramref name="destination"/> with standard normal values, in order (numpy's legacy <c>standard_normal</c>).</summary>
    /// <param name="destination">The values to overwrite.</param>
    public void StandardNormal(Span<double> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = StandardNormal();
        }
    }

    /// <summary>
    /// Equivalent of <c>np.random.randn(*shape)</c>: standard normal doubles for an array of the given shape,
    /// returned flat in C (row-major) order.
    /// </summary>
    /// <param name="shape">The dimensions; none may be negative. An empty shape draws a single value, like numpy's scalar.</param>
    /// <returns>A new array of <c>product(shape)</c> values.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or the element count overflows.</exception>
    public double[] Randn(params int[] shape)
    {
        var result = new double[ElementCount(shape)];
        StandardNormal(result);
        return result;
    }

    /// <summary>
    /// Equivalent of the scalar <c>np.random.randint(low, high)</c>: a uniform integer in <c>[low, high)</c>, drawn
    /// with numpy's masked rejection sampling. Consumes no randomness when the range holds a single value.
    /// </summary>
    /// <param name="low">Inclusive lower bound.</param>
    /// <param name="high">Exclusive upper bound; must exceed <paramref name="low"/>.</param>
    /// <returns>A value in <c>[low, high)</c>.</returns>
    /// <exception cref="ArgumentException"><paramref name="low"/> is not less than <paramref name="high"/>.</exception>
    public int RandInt(int low, int high)
    {
        if (low >= high)
        {
            throw new ArgumentException($"low >= high (low = {low}, high = {high}).", nameof(high));
        }
        uint range = (uint)((long)high - 1 - low);
        return (int)(low + (long)Interval(range));
    }

    /// <summary>Equivalent of the scalar <c>np.random.randint(high)</c>: a uniform integer in <c>[0, high)</c>.</summary>
    /// <param name="high">Exclusive upper bound; must be positive.</param>
    /// <returns>A value in <c>[0, high)</c>.</returns>
    /// <exception cref="ArgumentException"><paramref name="high"/> is not positive.</exception>
    public int RandInt(int high) => RandInt(0, high);

    /// <summary>
    /// Equivalent of numpy's legacy <c>np.random.permutation(n)</c>: a random permutation of <c>0 .. n-1</c>.
    /// </summary>
    /// <param name="n">Number of elements; must not be negative.</param>
    /// <returns>A new array holding each of <c>0 .. n-1</c> once.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative.</exception>
    public int[] Permutation(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var result = new int[n];
        for (int i = 0; i < n; i++)
        {
            result[i] = i;
        }
        Shuffle(result.AsSpan());
        return result;
    }

    /// <summary>
    /// Shuffles <paramref name="values"/> in place exactly like numpy's legacy <c>np.random.shuffle</c> of a 1-D array:
    /// Fisher–Yates from the end, <c>for i in reversed(range(1, n)): j = random_interval(i); swap(x[i], x[j])</c>.
    /// </summary>
    /// <param name="values">The values to permute.</param>
    public void Shuffle(Span<int> values) => Shuffle<int>(values);

    /// <summary>
    /// Shuffles <paramref name="values"/> in place exactly like numpy's legacy <c>np.random.shuffle</c> of a 1-D array
    /// (the element type does not affect the random draws).
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="values">The values to permute.</param>
    public void Shuffle<T>(Span<T> values)
    {
        for (int i = values.Length - 1; i >= 1; i--)
        {
            int j = (int)Interval((uint)i);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>numpy's <c>random_interval(max)</c> for <c>max &lt;= 0xffffffff</c>: uniform in <c>[0, max]</c> by masked rejection.</summary>
    private uint Interval(uint max)
    {
        if (max == 0)
        {
            return 0;
        }
        uint mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint value;
        while ((value = NextUInt32() & mask) > max)
        {
        }
        return value;
    }

    /// <summary>Regenerates all 624 state words (numpy's <c>mt19937_gen</c>) and rewinds the position.</summary>
    private void Generate()
    {
        ref uint k = ref MemoryMarshal.GetArrayDataReference(_key);
        uint y;
        int i = 0;
        for (; i < StateLength - M; i++)
        {
            y = (Unsafe.Add(ref k, i) & UpperMask) | (Unsafe.Add(ref k, i + 1) & LowerMask);
            Unsafe.Add(ref k, i) = Unsafe.Add(ref k, i + M) ^ (y >> 1) ^ ((0U - (y & 1U)) & MatrixA);
        }
        for (; i < StateLength - 1; i++)
        {
            y = (Unsafe.Add(ref k, i) & UpperMask) | (Unsafe.Add(ref k, i + 1) & LowerMask);
            Unsafe.Add(ref k, i) = Unsafe.Add(ref k, i + (M - StateLength)) ^ (y >> 1) ^ ((0U - (y & 1U)) & MatrixA);
        }
        y = (Unsafe.Add(ref k, StateLength - 1) & UpperMask) | (k & LowerMask);
        Unsafe.Add(ref k, StateLength - 1) = Unsafe.Add(ref k, M - 1) ^ (y >> 1) ^ ((0U - (y & 1U)) & MatrixA);
        _pos = 0;
    }

    private static int ElementCount(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        bool empty = false;
        foreach (int dim in shape)
        {
            if (dim < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(shape), dim, "Shape dimensions must not be negative.");
            }
            empty |= dim == 0;
        }
        if (empty)
        {
            return 0;
        }
        long count = 1;
        foreach (int dim in shape)
        {
            count *= dim;
            if (count > Array.MaxLength)
            {
                throw new ArgumentOutOfRangeException(nameof(shape), count, "The shape holds more elements than an array can.");
            }
        }
        return (int)count;
    }
}
