using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Docs;

/// <summary>The README's library example, compiled and run (on fewer epochs), so it cannot rot.</summary>
public class ReadmeExampleTests
{
    [Test]
    public void ReadmeQuickStart_Runs()
    {
        var data = ChapterData.OneStep();                       // the notebook's data, bit for bit (seed 0)
        var x = Tensor.FromArray(data.Train.X, data.Train.XShape);   // (7000, 50, 1)
        var y = Tensor.FromArray(data.Train.Y, data.Train.YShape);   // (7000, 1)
        var xv = Tensor.FromArray(data.Valid.X, data.Valid.XShape);
        var yv = Tensor.FromArray(data.Valid.Y, data.Valid.YShape);

        var model = new Sequential(
            new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]),
            new SimpleRNN(20),
            new Dense(1));
        model.Compile(new Nadam(), Loss.MeanSquaredError);
        History history = model.Fit(x, y, epochs: 2, validationData: (xv, yv), verbose: 0);   // README: 10 epochs
        Assert.That(model.Summary(), Does.Contain("Total params: 1,281"));
        Tensor yPred = model.Predict(xv);

        Assert.That(yPred.Shape, Is.EqualTo(new Shape(2000, 1)));
        // Two epochs already beat the naive last-value forecast (0.0212) by a wide margin.
        Assert.That(history["val_loss"][^1], Is.LessThan(0.0212 / 2));
    }
}
