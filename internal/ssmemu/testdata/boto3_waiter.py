"""Drive the SSM emulator the way a Python deploy script would.

Sends a command with boto3, waits with the command_executed waiter, reads
the invocation and prints one JSON object. A second command exits 7 so the
waiter's failure acceptor is exercised too.
"""

import json
import sys

import boto3
from botocore.exceptions import WaiterError

endpoint, instance_id = sys.argv[1], sys.argv[2]
ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1")
waiter = ssm.get_waiter("command_executed")
fast = {"Delay": 1, "MaxAttempts": 30}

sent = ssm.send_command(
    InstanceIds=[instance_id],
    DocumentName="AWS-RunShellScript",
    Parameters={"commands": ["echo hello from boto3", "echo $SSMEMU_INSTANCE_ID"]},
)
command_id = sent["Command"]["CommandId"]
waiter.wait(CommandId=command_id, InstanceId=instance_id, WaiterConfig=fast)
inv = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)

failing = ssm.send_command(
    InstanceIds=[instance_id],
    DocumentName="AWS-RunShellScript",
    Parameters={"commands": ["exit 7"]},
)["Command"]["CommandId"]
failure = None
try:
    waiter.wait(CommandId=failing, InstanceId=instance_id, WaiterConfig=fast)
except WaiterError as err:
    failure = {"reason": str(err), "last": err.last_response.get("Status"),
               "code": err.last_response.get("ResponseCode")}

print(json.dumps({
    "CommandId": command_id,
    "Status": inv["Status"],
    "StatusDetails": inv["StatusDetails"],
    "ResponseCode": inv["ResponseCode"],
    "StandardOutputContent": inv["StandardOutputContent"],
    "PluginName": inv["PluginName"],
    "Failure": failure,
}))
