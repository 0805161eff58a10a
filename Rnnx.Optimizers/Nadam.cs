using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rnnx.Optimization;
using Rnnx.Simd;

namespace Rnnx.Optimizers;

/// <summary>Which Nadam momentum schedule (and matching update arithmetic) <see cref="Nadam"/> follows.</summary>
public enum NadamSchedule
{
    /// <summary>
    /// Keras 3 and tf.keras ≥ 2.11 (the default): u_t = β1·(1 − 0.5·0.96^t); moments as
    /// m ← m + (g − m)·(1 − β1). Source: keras-team/keras <c>keras/src/optimizers/nadam.py</c>.
    /// </summary>
    Keras3,

    /// <summary>
    /// tf.keras legacy OptimizerV2 Nadam (TF 2.0–2.10 default, <c>optimizers.legacy.Nadam</c> in 2.11–2.15, the
    /// book's optimizer): u_t = β1·(1 − 0.5·0.96^(0.004·t)); moments as m ← β1·m + (1 − β1)·g. Source:
    /// keras-team/tf-keras <c>tf_keras/optimizers/legacy/nadam.py</c>.
    /// </summary>
    Legacy,
}

/// <summary>
/// The Nadam optimizer (Adam with Nesterov momentum, Dozat 2015), exactly as Keras computes it.
/// </summary>
/// <remarks>
/// <para>State: per parameter the slots <c>momentum</c> (m) and <c>velocity</c> (v), both starting at 0, and one scalar
/// shared by all parameters, the momentum-schedule product P (starting at 1; kept separately in float32, for float32
/// parameters, and in double, for float64 parameters).</para>
/// <para><see cref="NadamSchedule.Keras3"/>, step t (keras-team/keras <c>keras/src/optimizers/nadam.py</c>):</para>
/// <list type="bullet">
/// <item>once per step: P ← (P·β1)·(1 − 0.5·0.96^t) — this association is the source's; u_t = β1·(1 − 0.5·0.96^t),
/// u_{t+1} = β1·(1 − 0.5·0.96^(t+1)), P_{t+1} = P·u_{t+1};</item>
/// <item>per element: m ← m + (g − m)·(1 − β1); v ← v + (g² − v)·(1 − β2);
/// m̂ = u_{t+1}·m / (1 − P_{t+1}) + (1 − u_t)·g / (1 − P); v̂ = v / (1 − β2^t); θ ← θ − m̂·lr / (√v̂ + ε).</item>
/// </list>
/// <para><see cref="NadamSchedule.Legacy"/>, step t (keras-team/tf-keras <c>tf_keras/optimizers/legacy/nadam.py</c>):
/// u_t = β1·(1 − 0.5·0.96^(0.004·t)); P ← P·u_t; P_{t+1} = P·u_{t+1}; per element g′ = g / (1 − P);
/// m ← β1·m + (1 − β1)·g; m′ = m / (1 − P_{t+1}); v ← β2·v + (1 − β2)·g²; v′ = v / (1 − β2^t);
/// m̄ = (1 − u_t)·g′ + u_{t+1}·m′; θ ← θ − lr·m̄ / (√v′ + ε). The 0.004 only scales the schedule's exponent; it does
/// not decay the learning rate.</para>
/// <para>Float32 parameters: every constant (β1, β2, ε, 0.96, 0.5, 0.004, lr) is rounded to float32 first, scalars
/// such as 1 − β1 (= 0.10000002) and 0.96^t (a float32 power) are computed in float32, and each operation is rounded
/// to float32 in the order written above, as TensorFlow does. Float64 parameters use the same formulas in double.</para>
/// </remarks>
public sealed class Nadam : Optimizer
{
    private float _productF = 1f;
    private double _productD = 1.0;
    private Coefficients<float> _cf;
    private Coefficients<double> _cd;

    /// <summary>Creates a Nadam optimizer; the defaults are Keras's.</summary>
    /// <param name="learningRate">Learning rate (finite, ≥ 0).</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="epsilon">Added to √v̂ (after the bias correction), ≥ 0.</param>
    /// <param name="schedule">Momentum schedule: <see cref="NadamSchedule.Keras3"/> (default) or <see cref="NadamSchedule.Legacy"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    public Nadam(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7, NadamSchedule schedule = NadamSchedule.Keras3)
        : base(learningRate, "momentum", "velocity")
    {
        CheckBeta(beta1, nameof(beta1));
        CheckBeta(beta2, nameof(beta2));
        CheckNonNegative(epsilon, nameof(epsilon));
        if (schedule is not (NadamSchedule.Keras3 or NadamSchedule.Legacy))
            throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "Unknown NadamSchedule.");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        MomentumSchedule = schedule;
    }

    /// <summary>Decay of the first-moment average (β1).</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second-moment average (β2).</summary>
    public double Beta2 { get; }

    /// <summary>ε, added to √v̂.</summary>
    public double Epsilon { get; }

    /// <summary>The momentum schedule this optimizer follows.</summary>
    public NadamSchedule MomentumSchedule { get; }

    /// <summary>The shared momentum-schedule product P after the last step, as kept for float64 parameters (1 before the first step).</summary>
    public double MomentumProduct => _productD;

    /// <summary>The shared momentum-schedule product P after the last step, as kept (in float32) for float32 parameters.</summary>
    public float MomentumProductFloat32 => _productF;

    /// <inheritdoc/>
    /// <remarks>velocity is a running mean of squared gradients.</remarks>
    protected override bool IsNonNegativeSlot(int index) => index == 1;

    /// <inheritdoc/>
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc/>
    protected override void WriteConfig(OptimizerConfig config) =>
        config.Set("beta1", Beta1).Set("beta2", Beta2).Set("epsilon", Epsilon).Set("schedule", MomentumSchedule.ToString());

    /// <inheritdoc/>
    protected override void PrepareStep(long step, double learningRate)
    {
        _cf = Prepare(step, learningRate, ref _productF);
        _cd = Prepare(step, learningRate, ref _productD);
    }

    /// <inheritdoc/>
    protected override void Update(in ParameterUpdate<float> update) => Apply(update, _cf);

    /// <inheritdoc/>
    protected override void Update(in ParameterUpdate<double> update) => Apply(update, _cd);

    /// <inheritdoc/>
    protected override void SaveScalars(IDictionary<string, double> scalars)
    {
        scalars[ProductF] = _productF;
        scalars[ProductD] = _productD;
    }

    /// <inheritdoc/>
    /// <remarks>Each product multiplies factors in [0, 1), so it lies in [0, 1] (it reaches 0 by underflow in long runs).</remarks>
    protected override string? ValidateScalars(IReadOnlyDictionary<string, double> scalars)
    {
        if (!scalars.TryGetValue(ProductF, out double f) || !scalars.TryGetValue(ProductD, out double d))
            return $"the Nadam state must hold the scalars '{ProductF}' and '{ProductD}' (the momentum-schedule products).";
        if (!(f is >= 0 and <= 1) || !(d is >= 0 and <= 1))
            return $"the Nadam momentum-schedule products must lie in [0, 1]; the state holds {ProductF} = {f} and {ProductD} = {d}.";
        return null;
    }

    /// <inheritdoc/>
    protected override void LoadScalars(IReadOnlyDictionary<string, double> scalars)
    {
        _productF = (float)scalars[ProductF];
        _productD = scalars[ProductD];
    }

    /// <inheritdoc/>
    protected override void ResetScalars()
    {
        _productF = 1f;
        _productD = 1.0;
    }

    private const string ProductF = "u_product_float32";
    private const string ProductD = "u_product_float64";

    private static void CheckBeta(double beta, string name)
    {
        if (!(beta >= 0 && beta < 1)) throw new ArgumentOutOfRangeException(name, beta, $"'{name}' must be in [0, 1).");
    }

    private struct Coefficients<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Beta1, Beta2, OneMinusBeta1, OneMinusBeta2;
        public T UNext, OneMinusU, OneMinusProduct, OneMinusProductNext, OneMinusBeta2Power;
        public T LearningRate, Epsilon;
    }

    /// <summary>The step's scalars in <typeparamref name="T"/>; advances the shared product <paramref name="product"/> once.</summary>
    private Coefficients<T> Prepare<T>(long step, double learningRate, ref T product) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T b1 = T.CreateTruncating(Beta1);
        T b2 = T.CreateTruncating(Beta2);
        T half = T.CreateTruncating(0.5);
        T decay = T.CreateTruncating(0.96);
        T t = T.CreateTruncating(step);
        T tNext = T.CreateTruncating(step + 1);
        T u, uNext;
        if (MomentumSchedule == NadamSchedule.Keras3)
        {
            T powT = T.Pow(decay, t);
            product = product * b1 * (T.One - half * powT);   // Keras 3 _backend_update_step: (P·β1)·(1 − 0.5·0.96^t)
            u = b1 * (T.One - half * powT);
            uNext = b1 * (T.One - half * T.Pow(decay, tNext));
        }
        else
        {
            T k = T.CreateTruncating(0.004);
            u = b1 * (T.One - half * T.Pow(decay, k * t));
            uNext = b1 * (T.One - half * T.Pow(decay, k * tNext));
            product *= u;                                      // legacy _prepare_local: P·u_t
        }
        T productNext = product * uNext;
        return new Coefficients<T>
        {
            Beta1 = b1,
            Beta2 = b2,
            OneMinusBeta1 = T.One - b1,
            OneMinusBeta2 = T.One - b2,
            UNext = uNext,
            OneMinusU = T.One - u,
            OneMinusProduct = T.One - product,
            OneMinusProductNext = T.One - productNext,
            OneMinusBeta2Power = T.One - T.Pow(b2, t),
            LearningRate = T.CreateTruncating(learningRate),
            Epsilon = T.CreateTruncating(Epsilon),
        };
    }

    private void Apply<T>(in ParameterUpdate<T> u, in Coefficients<T> c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (MomentumSchedule == NadamSchedule.Keras3)
        {
            var k = new Keras3Kernel<T>(u.Value, u.GradientSource, u.Slot(0), u.Slot(1), c);
            ElementwiseLoop.Run<T, Keras3Kernel<T>>(ref k);
        }
        else
        {
            var k = new LegacyKernel<T>(u.Value, u.GradientSource, u.Slot(0), u.Slot(1), c);
            ElementwiseLoop.Run<T, LegacyKernel<T>>(ref k);
        }
    }

    private readonly ref struct Keras3Kernel<T>(Span<T> theta, GradientSource<T> g, Span<T> m, Span<T> v, in Coefficients<T> c)
        : IElementwiseBody<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly Span<T> _theta = theta, _m = m, _v = v;
        private readonly GradientSource<T> _g = g;
        private readonly Coefficients<T> _c = c;

        public int Length => _theta.Length;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TV>(nint i) where TV : struct, ISimdVector<TV, T>
        {
            ref T thetaRef = ref MemoryMarshal.GetReference(_theta);
            ref T mRef = ref MemoryMarshal.GetReference(_m);
            ref T vRef = ref MemoryMarshal.GetReference(_v);
            TV g = _g.Load<TV>(i);
            TV m = TV.Load(ref mRef, i);
            TV v = TV.Load(ref vRef, i);
            m += (g - m) * TV.Create(_c.OneMinusBeta1);
            v += (g * g - v) * TV.Create(_c.OneMinusBeta2);
            TV mHat = TV.Create(_c.UNext) * m / TV.Create(_c.OneMinusProductNext) + TV.Create(_c.OneMinusU) * g / TV.Create(_c.OneMinusProduct);
            TV vHat = v / TV.Create(_c.OneMinusBeta2Power);
            TV theta = TV.Load(ref thetaRef, i) - mHat * TV.Create(_c.LearningRate) / (TV.Sqrt(vHat) + TV.Create(_c.Epsilon));
            TV.Store(m, ref mRef, i);
            TV.Store(v, ref vRef, i);
            TV.Store(theta, ref thetaRef, i);
        }
    }

    private readonly ref struct LegacyKernel<T>(Span<T> theta, GradientSource<T> g, Span<T> m, Span<T> v, in Coefficients<T> c)
        : IElementwiseBody<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly Span<T> _theta = theta, _m = m, _v = v;
        private readonly GradientSource<T> _g = g;
        private readonly Coefficients<T> _c = c;

        public int Length => _theta.Length;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TV>(nint i) where TV : struct, ISimdVector<TV, T>
        {
            ref T thetaRef = ref MemoryMarshal.GetReference(_theta);
            ref T mRef = ref MemoryMarshal.GetReference(_m);
            ref T vRef = ref MemoryMarshal.GetReference(_v);
            TV g = _g.Load<TV>(i);
            TV gPrime = g / TV.Create(_c.OneMinusProduct);
            TV m = TV.Create(_c.Beta1) * TV.Load(ref mRef, i) + TV.Create(_c.OneMinusBeta1) * g;
            TV mPrime = m / TV.Create(_c.OneMinusProductNext);
            TV v = TV.Create(_c.Beta2) * TV.Load(ref vRef, i) + TV.Create(_c.OneMinusBeta2) * (g * g);
            TV vPrime = v / TV.Create(_c.OneMinusBeta2Power);
            TV mBar = TV.Create(_c.OneMinusU) * gPrime + TV.Create(_c.UNext) * mPrime;
            TV theta = TV.Load(ref thetaRef, i) - TV.Create(_c.LearningRate) * mBar / (TV.Sqrt(vPrime) + TV.Create(_c.Epsilon));
            TV.Store(m, ref mRef, i);
            TV.Store(v, ref vRef, i);
            TV.Store(theta, ref thetaRef, i);
        }
    }
}
