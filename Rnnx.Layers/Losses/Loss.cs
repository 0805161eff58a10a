namespace Rnnx.Losses;

/// <summary>
/// A training loss: a scalar, the mean over the batch (Keras's <c>sum_over_batch_size</c> reduction), differentiable
/// through the tape.
/// </summary>
public abstract class Loss
{
    /// <summary>Keras-style name, e.g. <c>mean_squared_error</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The scalar loss for a batch; shapes are equal (targets are aligned by the model first).</summary>
    public abstract Tensor Compute(Tensor yTrue, Tensor yPred);

    /// <summary>Mean squared error.</summary>
    public static Loss MeanSquaredError { get; } = new MeanSquaredErrorLoss();

    /// <summary>Mean absolute error.</summary>
    public static Loss MeanAbsoluteError { get; } = new MeanAbsoluteErrorLoss();

    /// <summary>Huber loss with threshold <paramref name="delta"/> (Keras default 1.0).</summary>
    public static Loss Huber(double delta = 1.0) => new HuberLoss(delta);

    /// <summary>Looks a loss up by Keras name or alias (<c>mse</c>, <c>mae</c>, <c>huber</c>, ...).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static Loss Get(string name) => name switch
    {
        "mse" or "mean_squared_error" or "MeanSquaredError" => MeanSquaredError,
        "mae" or "mean_absolute_error" or "MeanAbsoluteError" => MeanAbsoluteError,
        "huber" or "huber_loss" or "Huber" => Huber(),
        _ => throw new ArgumentException($"Unknown loss '{name}'; use mse, mae or huber, or subclass Loss.", nameof(name)),
    };

    /// <summary>Converts a Keras loss name.</summary>
    public static implicit operator Loss(string name) => Get(name);

    /// <inheritdoc />
    public override string ToString() => Name;

    private sealed class MeanSquaredErrorLoss : Loss
    {
        public override string Name => "mean_squared_error";

        public override Tensor Compute(Tensor yTrue, Tensor yPred) => Tensor.MeanSquaredError(yTrue, yPred);
    }

    private sealed class MeanAbsoluteErrorLoss : Loss
    {
        public override string Name => "mean_absolute_error";

        public override Tensor Compute(Tensor yTrue, Tensor yPred) => Tensor.MeanAbsoluteError(yTrue, yPred);
    }

    private sealed class HuberLoss(double delta) : Loss
    {
        public override string Name => "huber_loss";

        public override Tensor Compute(Tensor yTrue, Tensor yPred) => Tensor.Huber(yTrue, yPred, delta);
    }
}
